#!/usr/bin/env python3
"""The smtp transport and the whole FlushQueues against Postfix's real smtp-sink
on loopback (docs/bus-api.md, org.mailspool.Spool1.Status, FlushQueues; and the SMTP
outcomes of README.md): immediate and on-demand sending, Bcc, exactly-once
delivery, Busy, the status bits, FLUSH_ASYNC_OK and FlushFinished, FlushProgress
and FLUSH_NO_UI, 4xx / dropped connection / 5xx outcomes with retries and
non-delivery reports, NetworkError, CancelFlush, and status reads during a
slow flush."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, ERR_BUSY, ERR_CANCELLED, ERR_NETWORK_ERROR, FLUSH_ASYNC_OK,
    FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_SPOOLER, IFACE_STATUS, IFACE_TRANSPORT,
    MAPI_E_BUSY, SPOOLER_PATH, STATUS_FAILURE, STATUS_OUTBOUND_FLUSH, DaemonTestCase, V,
    is_properties_changed, make_message, now_us, signal_args, transport_path)
from harness import parse_gdbus_error  # noqa: E402

OUT = transport_path("out")
MAPI_E_NETWORK_ERROR = ("MAPI_E_NETWORK_ERROR", 0x80040115)


def smtp_config(url, send_mode="on-demand", extra=""):
    return {"transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=%s\n%s" % (url, send_mode, extra)}


class SmtpTestCase(DaemonTestCase):
    """self.sink is a running smtp-sink (SINK_OPTIONS); the daemon has one smtp
    transport "out" pointing at it."""

    SINK_OPTIONS = ()
    SEND_MODE = "on-demand"
    EXTRA = ""
    START = False

    def setUp(self):
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        self.sink = sink.SmtpSink(self.SINK_OPTIONS)
        self.addCleanup(self.sink.close)
        super().setUp()
        self.h.write_config(smtp_config(self.sink.url, self.SEND_MODE, self.EXTRA))
        self.h.start()

    def submit(self, subject, **kw):
        return self.h.submit_data(make_message(subject=subject, **kw))

    def state(self, path):
        return self.h.get_property(path, IFACE_MESSAGE, "State")

    def status_code(self, path=OUT):
        return self.h.get_property(path, IFACE_STATUS, "StatusCode")

    def wait_received(self, n):
        return self.h.wait_for("%d messages at smtp-sink" % n, lambda: self.sink.count() >= n)

    def flush_in_background(self, path=SPOOLER_PATH, target="/", flags=FLUSH_UPLOAD | FLUSH_NO_UI):
        """FlushQueues through gdbus in a child process (to see its error name)."""
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path", path,
                "--method", IFACE_STATUS + ".FlushQueues", "--timeout", "120",
                target, "uint32 %d" % flags]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.h.client_env)

    def finish(self, proc, timeout=60):
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class ImmediateTest(SmtpTestCase):

    SEND_MODE = "immediate"

    # README, "Sending with SMTP"; docs/bus-api.md, Spooler.Submit: Bcc is removed from
    # what is sent, its recipients still get the message
    def test_immediate_send_strips_bcc(self):
        path = self.submit("immediate", to="bob@example.org", bcc="hidden@example.org")
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")
        (got,) = self.sink.messages()
        self.assertEqual(got["mail_from"], "alice@example.org")
        self.assertEqual(sorted(got["rcpt_to"]), ["bob@example.org", "hidden@example.org"])
        self.assertIn("Subject: immediate", got["headers"])
        self.assertNotIn("Bcc", got["headers"])
        self.assertNotIn("hidden@example.org", got["raw"].decode())


class SendTest(SmtpTestCase):

    # docs/bus-api.md, "Message": a message's changes within 50 ms of its first
    # go out in one signal; smtp-sink answers in a few milliseconds, so "sending"
    # and "sent" are one signal for most messages (a build that announces each
    # pass's changes at once sends two for every one)
    def test_sending_and_sent_in_one_window_are_one_signal(self):
        n = 10
        paths = [self.submit("window %d" % i) for i in range(n)]
        mon = self.h.monitor("type='signal',member='PropertiesChanged',"
                             "path_namespace='/org/mailspool/Spool1/message'")
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI, path=OUT)
        self.assertEqual(summary["sent"], n, summary)
        mon.sync()
        states = {}
        for m in mon.found(lambda m: "State" in signal_args(m)[1]):
            states.setdefault(m["path"], []).append(signal_args(m)[1]["State"])
        self.assertEqual(sorted(states), sorted(paths), states)
        self.assertTrue(all(s[-1] == "sent" for s in states.values()), states)
        total = sum(len(s) for s in states.values())
        self.assertLessEqual(total, n + n // 2, "signals per message: %s" % states)

    # docs/bus-api.md, FlushQueues: synchronous by default: the reply comes when every
    # message queued at the call's start has an outcome of this attempt
    def test_on_demand_waits_for_flush_and_sends_each_once(self):
        n = 40
        ids = ["once-%d@example.org" % i for i in range(n)]
        paths = [self.submit("once %d" % i, message_id=ids[i]) for i in range(n)]
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "QueuedOutbound"), n)
        self.assertEqual(self.sink.count(), 0, "on-demand mail waits for a flush")

        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI, path=OUT)
        self.assertEqual(summary["sent"], n, summary)
        self.assertEqual((summary["deferred"], summary["failed"]), (0, 0))
        # Synchronous: everything is at the server when the reply comes.
        got = self.sink.messages()
        seen = [line.split("<", 1)[1].rstrip(">") for m in got for line in
                m["headers"].splitlines() if line.lower().startswith("message-id:")]
        self.assertEqual(sorted(seen), sorted(ids), "every message exactly once")
        self.assertEqual({self.state(p) for p in paths}, {"sent"})
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "QueuedOutbound"), 0)

        again = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI, path=OUT)
        self.assertEqual(again["sent"], 0)
        self.assertEqual(self.sink.count(), n)

    # docs/bus-api.md, Status: StatusString alone and QueuedOutbound alone are announced at
    # most once per 50 ms per object during a flush, the last value always
    def test_flush_changes_paced(self):
        n = 40
        for i in range(n):
            self.submit("paced %d" % i)
        mon = self.h.monitor("type='signal',interface='org.freedesktop.DBus.Properties',"
                             "member='PropertiesChanged',path='%s'" % OUT)
        t0 = time.monotonic()
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI, path=OUT)["sent"], n)
        elapsed = time.monotonic() - t0
        mon.sync()

        def values(iface, name):
            return [signal_args(m)[1][name] for m in mon.found(is_properties_changed(OUT, iface))
                    if name in signal_args(m)[1]]

        # One per dispatch would be one or more a message; paced, one per 50 ms at most,
        # and the signals that carry a status bit as well (the flush's start and end).
        allowed = elapsed / 0.05 + 4
        texts = values(IFACE_STATUS, "StatusString")
        queued = values(IFACE_TRANSPORT, "QueuedOutbound")
        self.assertLessEqual(len(texts), allowed, (elapsed, texts))
        self.assertLessEqual(len(queued), allowed, (elapsed, queued))
        self.assertTrue(any(t.startswith("Sending ") for t in texts), texts)
        self.assertEqual(queued[-1], 0, queued)
        self.assertEqual(texts[-1], self.h.get_property(OUT, IFACE_STATUS, "StatusString"))

    # docs/bus-api.md, FlushQueues: without FLUSH_NO_UI the caller alone receives
    # FlushProgress; with it, none
    def test_progress_unless_no_ui(self):
        for i in range(3):
            self.submit("progress %d" % i)
        mon = self.h.monitor("type='signal',member='FlushProgress'",
                             "type='method_call',member='FlushQueues'")
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD)["sent"], 3)
        call = mon.wait_for(lambda m: m.get("type") == "method_call", what="the call")
        mon.sync()
        progress = mon.found(lambda m: m.get("member") == "FlushProgress")
        # At most one per message (fewer when they come faster than a person
        # can see), the last one always.
        self.assertTrue(1 <= len(progress) <= 3, progress)
        for m in progress:
            self.assertEqual(m.get("destination"), call["sender"], "unicast to the caller")
            transport, done, total, text = signal_args(m)
            self.assertEqual((transport, total), (OUT, 3))
        self.assertEqual(signal_args(progress[-1])[1], 3, "the last report is the end")

        self.submit("quiet")
        quiet = self.h.monitor("type='signal',member='FlushProgress'")
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)["sent"], 1)
        quiet.sync()
        self.assertEqual(quiet.found(lambda m: True), [])


class SlowServerTest(SmtpTestCase):
    """smtp-sink waits 1 s before answering DATA; one connection: a flush of
    four messages lasts about four seconds."""

    SINK_OPTIONS = ("-w", "1")
    EXTRA = "MaxConnections=1\n"

    def start_slow_flush(self, n=4, path=SPOOLER_PATH, flags=FLUSH_UPLOAD | FLUSH_NO_UI):
        for i in range(n):
            self.submit("slow %d" % i)
        proc = self.flush_in_background(path=path, flags=flags)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: c & STATUS_OUTBOUND_FLUSH)
        return proc

    # docs/bus-api.md, FlushQueues: Busy when any requested (transport, direction) is
    # already flushing; nothing of the new request starts
    def test_busy_on_transport_and_spooler(self):
        proc = self.start_slow_flush(path=OUT)
        self.submit("late")  # queued after the first flush began
        for path in (OUT, SPOOLER_PATH):
            with self.subTest(path=path):
                self.assertCallFails(ERR_BUSY, MAPI_E_BUSY, path, IFACE_STATUS, "FlushQueues",
                                     "ou", "/", FLUSH_UPLOAD | FLUSH_NO_UI)
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 0, err)
        self.assertIn("'sent': <uint32 4>", out, "the first flush sent its own four")
        self.assertEqual(self.sink.count(), 4, "the refused flush sent nothing")

    # docs/bus-api.md, "Message": a change made 50 ms or more after the first
    # is a later signal: an SMTP delivery is "sending" while the server talks
    def test_sending_and_sent_are_separate_signals(self):
        path = self.submit("two passes")
        mon = self.h.monitor("type='signal',member='PropertiesChanged',path='%s'" % path)
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        mon.sync()
        states = [signal_args(m)[1]["State"] for m in mon.found(lambda m: True)
                  if "State" in signal_args(m)[1]]
        self.assertEqual(states, ["sending", "sent"], states)

    # docs/bus-api.md, "Message": PropertiesChanged carries only values that changed
    def test_message_signals_carry_changes_only(self):
        path = self.submit("only what changed")
        known = self.h.get_all(path, IFACE_MESSAGE)
        mon = self.h.monitor("type='signal',member='PropertiesChanged',path='%s'" % path)
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        mon.sync()
        signals = [signal_args(m)[1] for m in mon.found(lambda m: True)]
        self.assertTrue(signals, "no signal at all")
        for changed in signals:
            repeated = {k: v for k, v in changed.items() if known.get(k) == v}
            self.assertEqual(repeated, {}, "values that did not change: %s" % changed)
            known.update(changed)
        self.assertEqual(known["State"], "sent")
        self.assertEqual(known, self.h.get_all(path, IFACE_MESSAGE),
                         "the signals add up to what a read shows")

    # docs/bus-api.md, FlushQueues: status bits rise during the flush and fall after;
    # the spooler carries the FLUSH bits during a spooler-level flush
    def test_status_bits_rise_and_fall(self):
        mon = self.h.monitor("type='signal',member='PropertiesChanged'")
        proc = self.start_slow_flush(path=SPOOLER_PATH)
        self.assertTrue(self.status_code(SPOOLER_PATH) & STATUS_OUTBOUND_FLUSH)
        text = self.h.get_property(OUT, IFACE_STATUS, "StatusString")
        self.assertRegex(text, r"^Sending \d of 4$")
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 0, err)
        self.assertFalse(self.status_code(OUT) & STATUS_OUTBOUND_FLUSH)
        self.assertFalse(self.status_code(SPOOLER_PATH) & STATUS_OUTBOUND_FLUSH)
        mon.sync()
        codes = [signal_args(m)[1]["StatusCode"] for m in mon.found(
            lambda m: m.get("path") == OUT) if "StatusCode" in signal_args(m)[1]]
        self.assertTrue(any(c & STATUS_OUTBOUND_FLUSH for c in codes), codes)
        self.assertFalse(codes[-1] & STATUS_OUTBOUND_FLUSH, "the last change lowers the bit")

    # docs/bus-api.md, FlushQueues: with FLUSH_ASYNC_OK the reply comes as soon as the
    # flush has started; its end is FlushFinished
    def test_async_ok_replies_before_delivery(self):
        for i in range(3):
            self.submit("async %d" % i)
        mon = self.h.monitor("type='signal',member='FlushFinished'")
        (summary,) = self.h.call(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", "/",
                                 FLUSH_UPLOAD | FLUSH_NO_UI | FLUSH_ASYNC_OK)
        self.assertLess(self.sink.count(), 3, "the reply came before the messages arrived")
        # The reply says what it means: started, with which transports.
        self.assertEqual(summary, {"started": True, "transports": [OUT], "skipped": []})
        m = mon.wait_for(lambda m: True, timeout=30, what="FlushFinished")
        target, flags, final = signal_args(m)
        self.assertEqual(target, "/")
        self.assertEqual(final["sent"], 3, final)
        self.assertEqual(self.sink.count(), 3)

    # docs/bus-api.md, Spooler.CancelFlush: stops a running flush; its caller gets Cancelled
    def test_cancel_flush(self):
        proc = self.start_slow_flush(n=6)
        self.h.call(SPOOLER_PATH, IFACE_SPOOLER, "CancelFlush", "o", "/")
        rc, out, err = self.finish(proc)
        self.assertNotEqual(rc, 0, out)
        e = parse_gdbus_error(err)
        self.assertIsNotNone(e, err)
        self.assertEqual(e.name, ERR_CANCELLED)
        self.assertTrue(e.message.startswith("MAPI_E_USER_CANCEL (0x80040113)"), e.message)
        self.assertLess(self.sink.count(), 6, "the messages not yet started stayed queued")
        waiting = [r for r in self.h.list_messages() if r[1] in ("queued", "deferred")]
        self.assertGreater(len(waiting), 0)

    # The loop never blocks: a property read is answered while a flush waits
    # on a slow server.
    def test_property_reads_during_flush_are_prompt(self):
        proc = self.start_slow_flush()
        worst = 0.0
        for _ in range(10):
            t0 = time.monotonic()
            self.status_code()
            worst = max(worst, time.monotonic() - t0)
        # busctl's own start-up dominates; the server's 1 s delay must not show.
        self.assertLess(worst, 0.8, "a StatusCode read took %.3f s during the flush" % worst)
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 0, err)


class PipelinedTest(SmtpTestCase):
    """smtp-sink offers PIPELINING and 8BITMIME (and no SIZE): MAIL, every RCPT and
    DATA go in one write, and every message of the flush arrives whole."""

    # README, "Sending with SMTP": BODY=8BITMIME for an 8-bit body only; a line
    # that starts with a dot arrives as it was (doubled on the wire, undone by the
    # server); every recipient of every message gets it, over kept sessions
    def test_many_recipients_8bit_and_dots(self):
        eight = make_message(subject="eight", body="Gr\u00fc\u00dfe\n.hidden\n..two\n.\n",
                             cc="carol@example.org", bcc="dave@example.org")
        self.h.submit_data(eight)
        for n in range(5):
            self.submit("plain %d" % n, cc="carol@example.org")
        summary = self.h.flush()
        self.assertEqual(summary["sent"], 6, summary)
        got = self.sink.messages()
        self.assertEqual(len(got), 6)
        for m in got:
            if b"Subject: eight" in m["raw"]:
                self.assertEqual(m["mail_params"], ["BODY=8BITMIME"])
                self.assertEqual(sorted(m["rcpt_to"]),
                                 ["bob@example.org", "carol@example.org", "dave@example.org"])
                body = m["raw"].replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
                # (smtp-sink's dump ends with a line end of its own.)
                sent = "Gr\u00fc\u00dfe\n.hidden\n..two\n.\n".encode()
                self.assertEqual(body[:len(sent)], sent)
            else:
                self.assertEqual(m["mail_params"], [])
                self.assertEqual(sorted(m["rcpt_to"]), ["bob@example.org", "carol@example.org"])


class DsnTest(SmtpTestCase):
    """smtp-sink offers DSN: mailspool-sendmail's -N, -R and -V reach the server as
    NOTIFY, ORCPT, RET and ENVID (RFC 3461)."""

    SENDMAIL = os.environ.get("MAILSPOOL_SENDMAIL", "mailspool-sendmail")

    def sendmail(self, *args):
        proc = subprocess.run([self.SENDMAIL, "--user"] + list(args),
                              input=make_message(subject="dsn"), env=self.h.client_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return proc.returncode, proc.stderr.decode(errors="replace")

    # README, "Sending with SMTP"; mailspool-sendmail(8), -N -R -V; docs/bus-api.md,
    # Submit's DsnNotify, DsnReturn, DsnEnvelopeId
    def test_dsn_options_reach_the_server(self):
        rc, err = self.sendmail("-N", "success,Failure", "-R", "hdrs", "-V", "env+id=1",
                                "bob@example.org", "carol@example.org")
        self.assertEqual(rc, 0, err)
        rc, err = self.sendmail("bob@example.org")  # none asked for: none sent
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.h.flush()["sent"], 2)
        asked, plain = sorted(self.sink.messages(), key=lambda m: len(m["rcpt_to"]))[::-1]
        self.assertEqual(asked["mail_params"], ["RET=HDRS", "ENVID=env+2Bid+3D1"])
        self.assertEqual(asked["rcpt_params"],
                         [["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob@example.org"],
                          ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;carol@example.org"]])
        self.assertEqual(plain["mail_params"], [])
        self.assertEqual(plain["rcpt_params"], [[]])

    # A value the RFC does not know is refused with the reason, and nothing is queued.
    def test_bad_dsn_options_are_refused(self):
        for args, why in ((["-N", "sometimes"], "DsnNotify"), (["-N", "never,success"], "DsnNotify"),
                          (["-R", "body"], "DsnReturn"), (["-V", "x" * 101], "DsnEnvelopeId")):
            rc, err = self.sendmail(*args, "bob@example.org")
            self.assertNotEqual(rc, 0, args)
            self.assertIn(why, err)
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "QueuedOutbound"), 0)


class NoDsnTest(SmtpTestCase):
    """smtp-sink without DSN (-N): the options are kept to ourselves."""

    SINK_OPTIONS = ("-N",)

    def test_no_dsn_parameters_without_the_offer(self):
        self.h.submit_data(make_message(subject="dsn"), {"DsnNotify": V("s", "success"),
                                                          "DsnReturn": V("s", "full")})
        self.assertEqual(self.h.flush()["sent"], 1)
        (m,) = self.sink.messages()
        self.assertEqual((m["mail_params"], m["rcpt_params"]), ([], [[]]))


class No8BitMimeTest(SmtpTestCase):
    """smtp-sink without 8BITMIME (-8): an 8-bit body goes as it is, without BODY=."""

    SINK_OPTIONS = ("-8",)

    def test_8bit_body_without_body_parameter(self):
        self.h.submit_data(make_message(subject="eight", body="Gr\u00fc\u00dfe\n"))
        self.assertEqual(self.h.flush()["sent"], 1)
        (m,) = self.sink.messages()
        self.assertEqual(m["mail_params"], [])
        self.assertIn("Gr\u00fc\u00dfe".encode(), m["raw"])


class SoftRejectTest(SmtpTestCase):
    """smtp-sink answers RCPT with 450: deferred, retried after the fault clears."""

    SINK_OPTIONS = ("-r", "RCPT")

    def test_4xx_deferred_then_sent(self):
        path = self.submit("soft")
        before = now_us()
        summary = self.h.flush()
        self.assertEqual((summary["sent"], summary["deferred"]), (0, 1), summary)
        p = self.h.message_props(path)
        self.assertEqual(p["State"], "deferred")
        self.assertEqual(p["Attempts"], 1)
        self.assertGreater(p["NextAttempt"], before, "a retry is scheduled")
        self.assertIn("450", p["LastError"])
        self.assertGreater(self.h.get_property(OUT, IFACE_TRANSPORT, "NextRetry"), before)
        # A reply about one message stays on it: the transport's LastError,
        # which every user reads, speaks of the transport alone.
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "LastError"), "")
        self.assertEqual(self.sink.count(), 0)

        self.sink.restart(())  # the fault clears
        summary = self.h.flush()
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(self.state(path), "sent")
        self.assertEqual(self.h.message_props(path)["Attempts"], 2)
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "NextRetry"), 0)


class Closing421AfterDataTest(SmtpTestCase):
    """smtp-sink answers the end of the data with 421 (the server closes the
    session, RFC 5321 3.8): the message was refused, not perhaps delivered."""

    SINK_OPTIONS = ("-b", "421 4.3.2 Service shutting down", "-r", ".")

    def test_421_after_data_is_deferred_not_uncertain(self):
        path = self.submit("closing")
        summary = self.h.flush()
        self.assertEqual((summary["sent"], summary["deferred"]), (0, 1), summary)
        p = self.h.message_props(path)
        self.assertEqual(p["State"], "deferred")
        self.assertFalse(p["PossiblyDelivered"])
        self.assertIn("421", p["LastError"])
        # (smtp-sink dumps what it read, refused or not.)
        before = self.sink.count()
        self.sink.restart(())
        self.assertEqual(self.h.flush()["sent"], 1)
        self.assertEqual(self.sink.count(), before + 1)


class DroppedConnectionTest(SmtpTestCase):
    """smtp-sink hangs up without a reply after DATA."""

    SINK_OPTIONS = ("-q", "DATA")

    def test_dropped_connection_is_deferred(self):
        path = self.submit("dropped")
        summary = self.h.flush()
        self.assertEqual(summary["deferred"], 1, summary)
        self.assertEqual(self.state(path), "deferred")
        self.assertIn("lost", self.h.message_props(path)["LastError"])
        self.sink.restart(())
        self.assertEqual(self.h.flush()["sent"], 1)
        self.assertEqual(self.sink.count(), 1)


class HardRejectTest(SmtpTestCase):
    """smtp-sink answers RCPT with 500: failed, with a non-delivery report."""

    SINK_OPTIONS = ("-f", "RCPT")

    def test_5xx_failed_with_report(self):
        path = self.submit("hard", to="nobody@example.org")
        summary = self.h.flush()
        self.assertEqual(summary["failed"], 1, summary)
        self.assertEqual(self.state(path), "failed")
        inbound = self.h.list_messages({"Direction": V("s", "inbound")})
        self.assertEqual(len(inbound), 1, "one non-delivery report")
        report_path = inbound[0][0]
        props = self.h.message_props(report_path)
        self.assertEqual(props["State"], "received")
        with open(props["Path"], "rb") as f:
            report = f.read().decode(errors="replace")
        self.assertIn(os.path.join(self.h.maildir("out"), "new"), props["Path"])
        self.assertRegex(report, r"(?i)content-type: multipart/report;[^\n]*(\n\s[^\n]*)*"
                                 r"report-type=delivery-status")
        self.assertIn("Final-Recipient: rfc822; nobody@example.org", report)
        self.assertIn("Action: failed", report)
        self.assertIn("Subject: hard", report, "the report quotes the header")
        self.assertEqual(self.sink.count(), 0)


class ServerDownTest(SmtpTestCase):

    # docs/bus-api.md, FlushQueues: a flush whose only transport could not connect fails
    # with NetworkError; the transport shows STATUS_FAILURE and a readable text
    def test_network_error(self):
        self.sink.stop()
        path = self.submit("nowhere")
        err = self.assertCallFails(ERR_NETWORK_ERROR, MAPI_E_NETWORK_ERROR, SPOOLER_PATH,
                                   IFACE_STATUS, "FlushQueues", "ou", "/",
                                   FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertIn(self.sink.address, err.message)
        self.assertTrue(self.status_code() & STATUS_FAILURE)
        text = self.h.get_property(OUT, IFACE_STATUS, "StatusString")
        self.assertIn(self.sink.address, text)
        self.assertIn("refused", text)
        self.assertIn(self.state(path), ("queued", "deferred"), "the message is kept")

        # ValidateState sees the same; once the server is back, it clears the failure.
        self.assertCallFails(ERR_NETWORK_ERROR, MAPI_E_NETWORK_ERROR, OUT, IFACE_STATUS,
                             "ValidateState", "u", 0)
        self.sink.start(())
        self.h.call(OUT, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertFalse(self.status_code() & STATUS_FAILURE)
        self.assertEqual(self.h.flush()["sent"], 1)
        self.assertEqual(self.state(path), "sent")


if __name__ == "__main__":
    harness.main()
