#!/usr/bin/env python3
"""mailspoolctl and mailspool-sendmail driven as a person or a mail program
would, against the real daemon on a private bus and Postfix's smtp-sink
(README, "mailspoolctl" and "mailspool-sendmail"; mailspoolctl(1),
mailspool-sendmail(8)): the status table as text and JSON, flush with progress
lines, a progress bar on a terminal (through script(1)), nothing with --quiet,
exit codes for Busy and NoSupport, list/show/abort, hold/release/schedule
(held and scheduled mail, DeferredUntil, PossiblyDelivered in list and show),
and sendmail's options (--at, --hold among them) and sysexits codes."""

import inspect
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_STATUS, STATUS_OUTBOUND_FLUSH,
    DaemonTestCase, V, make_message, now_us, transport_path)
from test_faults import FakeSmtp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.dirname(os.path.dirname(os.environ.get("MAILSPOOLD", "build/service/mailspoold")))
CTL = os.environ.get("MAILSPOOLCTL", os.path.join(BUILD, "client-lib", "mailspoolctl"))
SENDMAIL = os.environ.get("MAILSPOOL_SENDMAIL",
                          os.path.join(BUILD, "client-lib", "mailspool-sendmail"))
OUT = transport_path("out")

# mailspoolctl(1), EXIT STATUS
EXIT_USAGE, EXIT_NOT_FOUND, EXIT_BUSY, EXIT_NO_SUPPORT, EXIT_NOT_QUEUED = 2, 3, 5, 6, 10
EXIT_TRANSPORT_ERRORS = 12
# sysexits.h
EX_USAGE, EX_DATAERR, EX_TEMPFAIL = 64, 65, 75
SECOND = 1000000
HOUR = 3600 * SECOND


def local_time(usec):
    """A time as list and show print it (SUBMITTED, SCHEDULED)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(usec // SECOND))


class ClientTestCase(DaemonTestCase):
    """An on-demand smtp transport "out" (the default) into smtp-sink and a
    maildir transport "local"."""

    SINK_OPTIONS = ()
    START = False

    def setUp(self):
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        for tool in (CTL, SENDMAIL):
            if not os.access(tool, os.X_OK):
                self.skipTest("%s is not built" % tool)
        self.sink = sink.SmtpSink(self.SINK_OPTIONS)
        self.addCleanup(self.sink.close)
        super().setUp()
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=on-demand\nDefault=yes\n" % self.sink.url,
            "transports.d/local.conf": "[Transport]\nKind=maildir\n",
        })
        self.h.start()

    def run_tool(self, argv, stdin=b"", timeout=60):
        proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.h.client_env, timeout=timeout)
        return proc.returncode, proc.stdout.decode(errors="replace"), \
            proc.stderr.decode(errors="replace")

    def ctl(self, *args, **kw):
        return self.run_tool([CTL, "--user"] + list(args), **kw)

    def sendmail(self, args, message):
        return self.run_tool([SENDMAIL, "--user"] + list(args), stdin=message)

    def queue(self, n, prefix="queued"):
        return [self.h.submit_data(make_message(subject="%s %d" % (prefix, i)))
                for i in range(n)]


class CtlTest(ClientTestCase):

    # docs/bus-api.md, Spooler.QueryStatusTable: every row, as a table and as JSON
    def test_status_table_and_json(self):
        rc, out, err = self.ctl("status")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:2], ["TRANSPORT", "PROVIDER"])
        self.assertTrue(any(line.startswith("(spooler)") for line in lines), out)
        self.assertTrue(any(line.startswith("out ") and "SMTP" in line for line in lines), out)
        self.assertTrue(any(line.startswith("local ") and "Maildir" in line for line in lines))

        rc, out, err = self.ctl("status", "--json")
        self.assertEqual(rc, 0, err)
        rows = {r["id"]: r for r in json.loads(out)}
        self.assertEqual(set(rows), {"", "out", "local"})
        self.assertEqual(rows[""]["resource_type"], 37)
        self.assertEqual(rows["out"]["path"], OUT)
        self.assertEqual(rows["out"]["status_code"],
                         self.h.get_property(OUT, IFACE_STATUS, "StatusCode"))
        self.assertEqual(rows["out"]["status_string"],
                         self.h.get_property(OUT, IFACE_STATUS, "StatusString"))

    # docs/bus-api.md, FlushQueues: progress reaches the caller; not a TTY → plain lines
    def test_flush_prints_progress_lines_and_summary(self):
        self.queue(4)
        rc, out, err = self.ctl("flush", "--upload")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.sink.count(), 4)
        lines = out.splitlines()
        self.assertIn("out: 4 of 4 done (4 sent, 0 deferred, 0 failed)", lines)
        self.assertEqual(lines[-1], "4 sent, 0 deferred, 0 failed, 0 received")
        self.assertNotIn("\r", out, "no bar when stdout is not a terminal")

    # FLUSH_NO_UI: no progress and no summary with --quiet
    def test_flush_quiet_prints_nothing(self):
        self.queue(3)
        rc, out, err = self.ctl("flush", "--quiet")
        self.assertEqual((rc, out, err), (0, "", ""))
        self.assertEqual(self.sink.count(), 3)

    # A terminal gets a bar redrawn in place (script(1) gives the TTY).
    def test_flush_draws_a_bar_on_a_terminal(self):
        if shutil.which("script") is None:
            self.skipTest("script (bsdutils) is not installed")
        self.queue(5)
        command = "%s --user flush --upload" % CTL
        rc, out, err = self.run_tool(["script", "-qec", command, "/dev/null"])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("\r[", out)
        # (The text is cut to the terminal's width.)
        self.assertRegex(out, r"\[#+\]\s+5/5  out: 5 of 5 done \(5 sent")
        self.assertIn("5 sent, 0 deferred, 0 failed, 0 received", out)

    # The seed procedure: a transport without STATUS_FLUSH_QUEUES says NoSupport;
    # mailspoolctl then asks the spooler, unless --no-fallback.
    def test_no_support_exit_code_and_fallback(self):
        rc, out, err = self.ctl("flush", "local", "--no-fallback")
        self.assertEqual(rc, EXIT_NO_SUPPORT, out + err)
        self.assertIn("MAPI_E_NO_SUPPORT", err)
        rc, out, err = self.ctl("flush", "local")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("local does not flush itself; the spooler flushes it", out)

    def test_unknown_transport_and_usage(self):
        rc, out, err = self.ctl("validate", "nope")
        self.assertEqual(rc, EXIT_NOT_FOUND, out + err)
        rc, out, err = self.ctl("frobnicate")
        self.assertEqual(rc, EXIT_USAGE)
        self.assertIn("unknown command", err)
        rc, out, err = self.ctl("--help")
        self.assertEqual(rc, 0)
        self.assertIn("Exit status:", out)

    # docs/bus-api.md, Message.Abort; ListMessages
    def test_list_show_abort(self):
        path = self.h.submit_data(make_message(subject="Hold me"), {"OnDemand": V("b", True)})
        number = path.rsplit("/", 1)[1]
        rc, out, err = self.ctl("list")
        self.assertEqual(rc, 0, err)
        row = [line for line in out.splitlines() if line.split()[0] == number]
        self.assertEqual(len(row), 1, out)
        self.assertEqual(row[0].split()[1:3], ["queued", "out"])
        self.assertTrue(row[0].endswith("Hold me"))

        rc, out, err = self.ctl("show", number, "--json")
        self.assertEqual(rc, 0, err)
        shown = json.loads(out)
        self.assertEqual((shown["path"], shown["subject"], shown["state"]),
                         (path, "Hold me", "queued"))
        self.assertEqual(shown["recipients"], ["bob@example.org"])

        self.assertEqual(self.ctl("abort", number)[0], 0)
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "State"), "aborted")
        rc, out, err = self.ctl("abort", number)
        self.assertEqual(rc, EXIT_NOT_QUEUED, err)
        self.assertIn("MAPI_E_UNABLE_TO_ABORT", err)
        rc, out, err = self.ctl("list", "--state", "queued")
        self.assertEqual(out.splitlines()[1:], [])

    def state(self, path):
        return self.h.get_property(path, IFACE_MESSAGE, "State")

    def list_row(self, number, *args):
        rc, out, err = self.ctl("list", *args)
        self.assertEqual(rc, 0, err)
        rows = [line for line in out.splitlines()[1:] if line.split()[0] == number]
        self.assertEqual(len(rows), 1, out)
        return rows[0]

    # docs/bus-api.md, Message.Hold and Message.Release; list --state held
    def test_hold_and_release(self):
        path = self.h.submit_data(make_message(subject="Wait for me"), {"OnDemand": V("b", True)})
        number = path.rsplit("/", 1)[1]
        self.assertEqual(self.ctl("hold", number), (0, "", ""))
        self.assertEqual(self.state(path), "held")
        row = self.list_row(number, "--state", "held")
        self.assertEqual(row.split()[1:3], ["held", "out"])
        self.assertTrue(row.endswith("Wait for me"), row)
        rc, out, err = self.ctl("list", "--state", "queued")
        self.assertEqual(out.splitlines()[1:], [], "no longer queued")
        # Held: a flush does not send it.
        self.assertEqual(self.ctl("flush", "--quiet")[0], 0)
        self.assertEqual(self.sink.count(), 0)

        # By its object path too; queued again, and a flush sends it.
        self.assertEqual(self.ctl("release", path), (0, "", ""))
        self.assertEqual(self.state(path), "queued")
        self.assertEqual(self.ctl("flush", "--quiet")[0], 0)
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(self.state(path), "sent")

        # Sent: neither can be done any more (exit 10, as abort).
        for verb in ("hold", "release"):
            rc, out, err = self.ctl(verb, number)
            self.assertEqual(rc, EXIT_NOT_QUEUED, verb + ": " + err)
            self.assertIn("MAPI_E_", err)

    # A held message on a transport that sends at once (maildir) goes on release.
    def test_release_sends_at_once(self):
        path = self.h.submit_data(make_message(subject="Local"),
                                  {"Transport": V("o", transport_path("local")),
                                   "Hold": V("b", True)})
        number = path.rsplit("/", 1)[1]
        self.assertEqual(self.state(path), "held")
        self.assertEqual(self.ctl("release", number)[0], 0)
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")

    # docs/bus-api.md, Message.Reschedule; TIME as systemd.time(7) has it
    def test_schedule(self):
        path = self.h.submit_data(make_message(subject="Later"), {"OnDemand": V("b", True)})
        number = path.rsplit("/", 1)[1]
        before = now_us()
        self.assertEqual(self.ctl("schedule", number, "+1h"), (0, "", ""))
        after = now_us()
        self.assertEqual(self.state(path), "scheduled")
        due = self.h.get_property(path, IFACE_MESSAGE, "DeferredUntil")
        self.assertGreaterEqual(due, before + HOUR - SECOND)
        self.assertLessEqual(due, after + HOUR + SECOND)

        # list: the time in SCHEDULED (local time, as SUBMITTED), JSON in µs
        row = self.list_row(number, "--state", "scheduled")
        self.assertEqual(row.split()[1], "scheduled")
        self.assertIn(local_time(due), row)
        rc, out, err = self.ctl("list", "--json")
        self.assertEqual(rc, 0, err)
        (entry,) = [e for e in json.loads(out) if e["path"] == path]
        self.assertEqual(entry["deferred_until_usec"], due)
        self.assertIs(entry["possibly_delivered"], False)
        # show: the new properties
        rc, out, err = self.ctl("show", number)
        self.assertEqual(rc, 0, err)
        self.assertIn("Scheduled for: %s\n" % local_time(due), out)
        self.assertIn("    On demand: yes\n", out)
        self.assertIn("      Expires: -\n", out)
        self.assertNotIn("Warning", out)
        rc, out, err = self.ctl("show", number, "--json")
        shown = json.loads(out)
        self.assertEqual((shown["state"], shown["deferred_until_usec"], shown["on_demand"]),
                         ("scheduled", due, True))
        self.assertEqual((shown["expiry_time_usec"], shown["possibly_delivered"],
                          shown["delay_reported"]), (0, False, False))

        # A TIME it cannot read: exit 2, the message as it was.
        for bad in ("tomorrow 09:00", "2026-02-30 09:00", "+1 fortnight", "soon", ""):
            rc, out, err = self.ctl("schedule", number, bad)
            self.assertEqual(rc, EXIT_USAGE, "%r: %s" % (bad, err))
            self.assertIn("cannot read the time", err)
        self.assertEqual(self.state(path), "scheduled")
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "DeferredUntil"), due)

        # An absolute time; and one already past queues it now.
        rc, out, err = self.ctl("schedule", path, "@%d" % (due // SECOND + 3600))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "DeferredUntil"),
                         (due // SECOND + 3600) * SECOND)
        self.assertEqual(self.ctl("schedule", number, "2020-01-01 00:00")[0], 0)
        self.assertEqual(self.state(path), "queued")
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "DeferredUntil"), 0)
        row = self.list_row(number)
        self.assertEqual(row.split()[1], "queued")
        self.assertEqual(row.split()[7], "-", row)  # ID STATE TRANSPORT SIZE TRIES date time -

        # Release takes a scheduled message too.
        self.assertEqual(self.ctl("schedule", number, "2099-01-01 00:00")[0], 0)
        self.assertEqual(self.state(path), "scheduled")
        self.assertEqual(self.ctl("release", number)[0], 0)
        self.assertEqual(self.state(path), "queued")

        # Aborted: exit 10; no such message: exit 3; wrong usage: exit 2.
        self.assertEqual(self.ctl("abort", number)[0], 0)
        rc, out, err = self.ctl("schedule", number, "+1h")
        self.assertEqual(rc, EXIT_NOT_QUEUED, err)
        self.assertEqual(self.ctl("hold", "999999")[0], EXIT_NOT_FOUND)
        self.assertEqual(self.ctl("schedule", "999999", "+1h")[0], EXIT_NOT_FOUND)
        self.assertEqual(self.ctl("hold", "not-a-number")[0], EXIT_USAGE)
        for argv in (("hold",), ("release",), ("schedule", number), ("schedule",),
                     ("schedule", number, "+1h", "+2h")):
            rc, out, err = self.ctl(*argv)
            self.assertEqual(rc, EXIT_USAGE, "%r: %s" % (argv, err))

    def test_help_lists_the_commands(self):
        rc, out, err = self.ctl("--help")
        self.assertEqual(rc, 0)
        for line in ("hold MESSAGE...", "release MESSAGE...", "schedule MESSAGE TIME"):
            self.assertIn("  " + line, out)


class CtlPossiblyDeliveredTest(DaemonTestCase):
    """A server that resets the connection after the final "." (test_faults'
    FakeSmtp with drop_after_dot): the message is PossiblyDelivered."""

    START = False

    def setUp(self):
        if "drop_after_dot" not in inspect.signature(FakeSmtp).parameters:
            self.skipTest("FakeSmtp has no drop_after_dot")
        if not os.access(CTL, os.X_OK):
            self.skipTest("%s is not built" % CTL)
        super().setUp()
        self.fake = FakeSmtp(drop_after_dot=True)
        self.addCleanup(self.fake.close)
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=on-demand\n" % self.fake.url})
        self.h.start()

    def ctl(self, *args):
        proc = subprocess.run([CTL, "--user"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.h.client_env, timeout=60)
        return proc.returncode, proc.stdout.decode(errors="replace"), \
            proc.stderr.decode(errors="replace")

    # list marks the STATE with "!" and explains it below; JSON and show say it
    def test_list_and_show_mark_possibly_delivered(self):
        path = self.h.submit_data(make_message(subject="Maybe"))
        other = self.h.submit_data(make_message(subject="Not yet"), {"Hold": V("b", True)})
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertTrue(self.h.get_property(path, IFACE_MESSAGE, "PossiblyDelivered"))
        state = self.h.get_property(path, IFACE_MESSAGE, "State")
        number, other_number = path.rsplit("/", 1)[1], other.rsplit("/", 1)[1]

        rc, out, err = self.ctl("list")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        rows = {line.split()[0]: line.split() for line in lines[1:] if line.strip()}
        self.assertEqual(rows[number][1], state + "!")
        self.assertEqual(rows[other_number][1], "held")
        self.assertEqual(lines[-1], '!: possibly delivered: the connection broke after the '
                                    'final "." and before the server\'s reply')

        rc, out, err = self.ctl("list", "--json")
        entries = {e["path"]: e for e in json.loads(out)}
        self.assertIs(entries[path]["possibly_delivered"], True)
        self.assertIs(entries[other]["possibly_delivered"], False)

        rc, out, err = self.ctl("show", number)
        self.assertIn("      Warning: possibly delivered:", out)
        rc, out, err = self.ctl("show", number, "--json")
        self.assertIs(json.loads(out)["possibly_delivered"], True)

        # Without a marked message, no note.
        rc, out, err = self.ctl("list", "--state", "held")
        self.assertNotIn("possibly delivered", out)


class CtlBusyTest(ClientTestCase):
    SINK_OPTIONS = ("-w", "1")  # each DATA answered after a second

    # docs/bus-api.md, FlushQueues: a second flush of a flushing transport → Busy (exit 5)
    def test_busy_exit_code(self):
        self.queue(3)
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path", OUT,
                "--method", IFACE_STATUS + ".FlushQueues", "--timeout", "120", "/",
                "uint32 %d" % (FLUSH_UPLOAD | FLUSH_NO_UI)]
        first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=self.h.client_env)
        self.addCleanup(lambda: first.poll() is None and first.kill())
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: c & STATUS_OUTBOUND_FLUSH)
        rc, out, err = self.ctl("flush", "out", "--upload")
        self.assertEqual(rc, EXIT_BUSY, out + err)
        self.assertIn("MAPI_E_BUSY", err)
        first.communicate(timeout=60)
        self.assertEqual(first.returncode, 0)
        self.assertEqual(self.sink.count(), 3)


class CtlTransportErrorTest(ClientTestCase):

    # docs/bus-api.md, FlushQueues summary `errors`: a transport of the flush failed
    # while another worked → exit 12, the error named by transport id
    def test_transport_error_exit_code(self):
        self.h.write_config({"transports.d/deadend.conf":
                             "[Transport]\nKind=smtp\nServer=smtp://127.0.0.1:%d\nStartTLS=no\n"
                             "SendMode=on-demand\n" % sink.free_port()}, clear=False)
        self.h.restart_daemon()
        self.queue(2)
        self.h.submit_data(make_message(subject="nowhere"),
                           {"Transport": V("o", transport_path("deadend"))})
        rc, out, err = self.ctl("flush", "--upload")
        self.assertEqual(rc, EXIT_TRANSPORT_ERRORS, out + err)
        self.assertIn("mailspoolctl: deadend: MAPI_E_NETWORK_ERROR", err)
        self.assertEqual(self.sink.count(), 2)


class SendmailTest(ClientTestCase):

    def flush(self):
        rc, out, err = self.ctl("flush", "--quiet")
        self.assertEqual(rc, 0, err)

    # mailspool-sendmail(8): exit 0 only once the message is stored
    def test_stored_before_exit_with_recipients_from_arguments(self):
        msg = make_message(subject="From a mail program", to="carol@example.org")
        rc, out, err = self.sendmail(["-oi", "-f", "alice@example.org", "dave@example.org"], msg)
        self.assertEqual(rc, 0, err)
        (entry,) = self.h.list_messages()
        props = self.h.message_props(entry[0])
        self.assertEqual(props["Recipients"], ["dave@example.org"])
        self.assertEqual(props["Sender"], "alice@example.org")
        self.assertEqual(props["State"], "queued")
        self.flush()
        (got,) = self.sink.messages()
        self.assertEqual(got["rcpt_to"], ["dave@example.org"])

    # -t: recipients from To, Cc and Bcc; Bcc is not sent
    def test_recipients_from_headers(self):
        msg = make_message(subject="Headers", to="bob@example.org", cc="carol@example.org",
                           bcc="secret@example.org")
        rc, out, err = self.sendmail(["-t", "-i"], msg)
        self.assertEqual(rc, 0, err)
        self.flush()
        (got,) = self.sink.messages()
        self.assertEqual(sorted(got["rcpt_to"]),
                         ["bob@example.org", "carol@example.org", "secret@example.org"])
        self.assertNotIn("Bcc", got["headers"])

    # Without -i a line "." ends the message, as sendmail does.
    def test_dot_line_ends_the_message_without_i(self):
        msg = make_message(subject="Dot") + b".\nnot part of the message\n"
        rc, out, err = self.sendmail(["bob@example.org"], msg)
        self.assertEqual(rc, 0, err)
        self.flush()
        (got,) = self.sink.messages()
        self.assertNotIn(b"not part of the message", got["raw"])

    # -F and -f make the From header of a message that has none.
    def test_from_header_added(self):
        msg = b"Subject: no from\nTo: bob@example.org\n\nbody\n"
        rc, out, err = self.sendmail(["-i", "-f", "robot@example.org", "-F", "Build Robot",
                                      "bob@example.org"], msg)
        self.assertEqual(rc, 0, err)
        self.flush()
        (got,) = self.sink.messages()
        self.assertIn('From: "Build Robot" <robot@example.org>', got["headers"])
        self.assertEqual(got["mail_from"], "robot@example.org")

    # --at TIME: Submit with DeferredUntil, stored "scheduled"; a flush leaves it
    def test_at_stores_a_scheduled_message(self):
        before = now_us()
        rc, out, err = self.sendmail(["-oi", "--at", "+1h", "bob@example.org"],
                                     make_message(subject="At"))
        after = now_us()
        self.assertEqual(rc, 0, err)
        (entry,) = self.h.list_messages()
        props = self.h.message_props(entry[0])
        self.assertEqual(props["State"], "scheduled")
        self.assertGreaterEqual(props["DeferredUntil"], before + HOUR - SECOND)
        self.assertLessEqual(props["DeferredUntil"], after + HOUR + SECOND)
        self.flush()
        self.assertEqual(self.sink.count(), 0)
        # An absolute time, as --at=TIME
        rc, out, err = self.sendmail(["-i", "--at=2099-12-01 09:00", "bob@example.org"],
                                     make_message(subject="Much later"))
        self.assertEqual(rc, 0, err)
        later = [e for e in self.h.list_messages() if e[3] == "Much later"]
        self.assertEqual(self.h.message_props(later[0][0])["DeferredUntil"] // SECOND,
                         int(time.mktime((2099, 12, 1, 9, 0, 0, 0, 0, -1))))

    # --hold: Submit with Hold, stored "held" until released
    def test_hold_stores_a_held_message(self):
        rc, out, err = self.sendmail(["-i", "--hold", "-v", "bob@example.org"],
                                     make_message(subject="Hold"))
        self.assertEqual(rc, 0, err)
        path = out.strip().rsplit(" ", 1)[1]
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "State"), "held")
        self.flush()
        self.assertEqual(self.sink.count(), 0)
        self.assertEqual(self.ctl("release", path)[0], 0)
        self.flush()
        self.assertEqual(self.sink.count(), 1)

    # A TIME it cannot read: EX_USAGE before anything is read or stored
    def test_bad_at_is_usage(self):
        for bad in ("tomorrow 09:00", "next week", "2026-13-01"):
            rc, out, err = self.sendmail(["-i", "--at", bad, "bob@example.org"], make_message())
            self.assertEqual(rc, EX_USAGE, "%r: %s" % (bad, err))
            self.assertIn("--at: cannot read the time", err)
        rc, out, err = self.sendmail(["-i", "--at"], make_message())
        self.assertEqual(rc, EX_USAGE, err)
        self.assertEqual(self.h.list_messages(), [], "nothing stored")

    # sysexits: bad usage 64, refused message 65, spooler gone 75
    def test_exit_codes(self):
        rc, out, err = self.sendmail(["-i"], make_message())
        self.assertEqual(rc, EX_USAGE, err)
        rc, out, err = self.sendmail(["-i", "not an address"], make_message())
        self.assertEqual(rc, EX_DATAERR, err)
        self.assertIn("MAPI_E_", err)
        self.assertEqual(self.h.list_messages(), [], "nothing half-stored")
        self.h.stop_daemon()
        rc, out, err = self.sendmail(["-i", "bob@example.org"], make_message())
        self.assertEqual(rc, EX_TEMPFAIL, err)


if __name__ == "__main__":
    harness.main()
