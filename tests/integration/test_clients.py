#!/usr/bin/env python3
"""mailspoolctl and mailspool-sendmail driven as a person or a mail program
would, against the real daemon on a private bus and Postfix's smtp-sink
(README, "mailspoolctl" and "mailspool-sendmail"; mailspoolctl(1),
mailspool-sendmail(8)): the status table as text and JSON, flush with progress
lines, a progress bar on a terminal (through script(1)), nothing with --quiet,
exit codes for Busy and NoSupport, list/show/abort, and sendmail's options and
sysexits codes."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_STATUS, STATUS_OUTBOUND_FLUSH,
    DaemonTestCase, V, make_message, transport_path)

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
