#!/usr/bin/env python3
"""A message's life (docs/bus-api.md, "Message states and transitions"; the
Submit options DeferredUntil, ExpiryTime, Hold and OnDemand; Message.Hold,
Release and Reschedule; a transport's SendDelay): scheduled mail is not sent
by a flush before its time and goes by itself after it, also across a
restart; held mail waits for Release; the undo window lets Abort take a
message back and FLUSH_FORCE send it at once; an expired message fails with
one report. Against Postfix's smtp-sink on loopback; every wait is on a
property, with a bound."""

import email
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_FORCE, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_TRANSPORT, DaemonTestCase, V,
    make_message, now_us, transport_path)
from test_faults import FakeSmtp  # noqa: E402
from test_smtp_flush import smtp_config  # noqa: E402

OUT = transport_path("out")
UPLOAD = FLUSH_UPLOAD | FLUSH_NO_UI
SECOND = 1000000


class LifeTestCase(DaemonTestCase):
    START = False
    SEND_MODE = "immediate"
    EXTRA = ""

    def setUp(self):
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        self.sink = sink.SmtpSink()
        self.addCleanup(self.sink.close)
        super().setUp()
        self.h.write_config(smtp_config(self.sink.url, self.SEND_MODE, self.EXTRA))
        self.h.start()

    def submit(self, subject, **options):
        return self.h.submit_data(make_message(subject=subject), options)

    def state(self, path):
        return self.h.get_property(path, IFACE_MESSAGE, "State")

    def wait_state(self, path, state, timeout=harness.WAIT_TIMEOUT):
        return self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == state,
                                        timeout=timeout)

    def transport_counts(self):
        p = self.h.get_all(OUT, IFACE_TRANSPORT)
        return p["QueuedOutbound"], p["HeldOutbound"], p["ScheduledOutbound"]


class ScheduleTest(LifeTestCase):

    # Submit option DeferredUntil: not sent by a flush before its time, sent after
    def test_scheduled_message_waits_for_its_time(self):
        due = now_us() + 2 * SECOND
        path = self.submit("later", DeferredUntil=V("t", due))
        self.assertEqual(self.state(path), "scheduled")
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "DeferredUntil"), due)
        self.assertEqual(self.transport_counts(), (0, 0, 1))
        # Even a forced flush does not send it early: DeferredUntil is not an undo window.
        summary = self.h.flush("/", UPLOAD | FLUSH_FORCE)
        self.assertEqual(summary["sent"], 0, summary)
        self.assertEqual(self.sink.count(), 0)
        self.wait_state(path, "sent")
        self.assertGreaterEqual(now_us(), due, "not sent before its time")
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(self.transport_counts(), (0, 0, 0))

    # the schedule is in the store: it survives a restart
    def test_schedule_survives_a_restart(self):
        path = self.submit("across a restart", DeferredUntil=V("t", now_us() + 3 * SECOND))
        self.h.restart_daemon()
        self.assertEqual(self.state(path), "scheduled")
        self.assertEqual(self.sink.count(), 0)
        self.wait_state(path, "sent")
        self.assertEqual(self.sink.count(), 1)

    # Message.Reschedule: another time; a past one means now
    def test_reschedule(self):
        path = self.submit("moved", DeferredUntil=V("t", now_us() + 3600 * SECOND))
        soon = now_us() + SECOND
        self.h.call(path, IFACE_MESSAGE, "Reschedule", "t", soon)
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "DeferredUntil"), soon)
        self.wait_state(path, "sent")
        other = self.submit("now", DeferredUntil=V("t", now_us() + 3600 * SECOND))
        self.h.call(other, IFACE_MESSAGE, "Reschedule", "t", 1)
        self.wait_state(other, "sent")

    # ExpiryTime in the past or before DeferredUntil is refused, nothing stored
    def test_bad_times_refused(self):
        for options in ({"ExpiryTime": V("t", now_us() - SECOND)},
                        {"DeferredUntil": V("t", now_us() + 10 * SECOND),
                         "ExpiryTime": V("t", now_us() + 5 * SECOND)}):
            err = self.h.call_error(harness.SPOOLER_PATH, harness.IFACE_SPOOLER, "SubmitData",
                                    "aya{sv}", list(make_message()), options)
            self.assertEqual(err.name, harness.ERR_INVALID_ARGS, err)
        self.assertEqual(self.h.list_messages(), [])


class HoldTest(LifeTestCase):

    # Submit option Hold; Message.Release: held until released, then sent
    def test_hold_and_release(self):
        path = self.submit("held", Hold=V("b", True))
        self.assertEqual(self.state(path), "held")
        self.assertEqual(self.transport_counts(), (0, 1, 0))
        self.assertEqual(self.h.flush("/", UPLOAD | FLUSH_FORCE)["sent"], 0)
        self.assertEqual(self.sink.count(), 0)
        self.h.call(path, IFACE_MESSAGE, "Release")
        self.wait_state(path, "sent")
        self.assertEqual(self.sink.count(), 1)

    # Message.Hold on a scheduled message; Abort works on held ones
    def test_hold_a_scheduled_message_then_abort(self):
        path = self.submit("on hold", DeferredUntil=V("t", now_us() + SECOND))
        self.h.call(path, IFACE_MESSAGE, "Hold")
        self.assertEqual(self.state(path), "held")
        self.h.call(path, IFACE_MESSAGE, "Abort")
        self.assertEqual(self.state(path), "aborted")
        # Nothing comes due for it any more; a sent one cannot be held.
        sent = self.submit("gone")
        self.wait_state(sent, "sent")
        err = self.h.call_error(sent, IFACE_MESSAGE, "Hold")
        self.assertEqual(err.name, harness.ERR_NOT_QUEUED, err)
        self.assertEqual(self.sink.count(), 1)


class UndoWindowTest(LifeTestCase):
    EXTRA = "SendDelay=30\n"

    # SendDelay: Abort inside the window is "undo send"
    def test_abort_inside_the_window(self):
        path = self.submit("oops")
        self.assertEqual(self.state(path), "scheduled")
        self.assertEqual(self.h.flush("/", UPLOAD)["sent"], 0, "a plain flush waits too")
        self.h.call(path, IFACE_MESSAGE, "Abort")
        self.assertEqual(self.state(path), "aborted")
        self.assertEqual(self.sink.count(), 0)

    # SendDelay: FLUSH_FORCE (the user's "send now") sends at once
    def test_forced_flush_sends_at_once(self):
        path = self.submit("send now")
        self.assertEqual(self.state(path), "scheduled")
        summary = self.h.flush("/", UPLOAD | FLUSH_FORCE)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(self.state(path), "sent")
        self.assertEqual(self.sink.count(), 1)


class ExpiryTest(LifeTestCase):
    """The server is down: the message is deferred until its ExpiryTime."""

    def setUp(self):
        super().setUp()
        self.sink.stop()

    # Submit option ExpiryTime: not sent by then → failed, one report
    def test_expired_message_fails_with_one_report(self):
        path = self.submit("too late", ExpiryTime=V("t", now_us() + 2 * SECOND))
        self.wait_state(path, "failed")
        self.assertIn("ExpiryTime", self.h.get_property(path, IFACE_MESSAGE, "LastError"))
        reports = self.h.read_maildir("out")
        self.assertEqual(len(reports), 1, "exactly one report")
        report = email.message_from_bytes(reports[0])
        self.assertEqual(report.get_content_type(), "multipart/report")


class FakeServerCase(DaemonTestCase):
    """A scripted server (FAKE options) and [Spooler] settings (SPOOLER)."""

    START = False
    FAKE = {}
    SPOOLER = ""

    def setUp(self):
        super().setUp()
        self.fake = FakeSmtp(**self.FAKE)
        self.addCleanup(self.fake.close)
        self.h.write_config(dict(smtp_config(self.fake.url, "on-demand"), **{
            "mailspool.conf": "[Spooler]\n" + self.SPOOLER}))
        self.h.start()

    def submit(self, subject):
        return self.h.submit_data(make_message(subject=subject))

    def reports(self):
        return [email.message_from_bytes(r) for r in self.h.read_maildir("out")]


class UncertainHoldTest(FakeServerCase):
    FAKE = {"drop_after_dot": True}
    SPOOLER = "UncertainDelivery=hold\n"

    # PossiblyDelivered; UncertainDelivery=hold: no second send
    def test_dropped_after_the_dot_is_held(self):
        path = self.submit("maybe")
        summary = self.h.flush("/", UPLOAD)
        self.assertEqual(summary["sent"], 0, summary)
        self.assertEqual(len(self.fake.transactions), 1, "the server got it once")
        props = self.h.get_all(path, IFACE_MESSAGE)
        self.assertEqual(props["State"], "held")
        self.assertTrue(props["PossiblyDelivered"])
        self.assertIn("may have been delivered", props["LastError"])
        self.assertIn("may have been delivered",
                      self.h.get_property(OUT, harness.IFACE_STATUS, "StatusString"))
        # Held: further flushes do not send it again.
        self.h.flush("/", UPLOAD | FLUSH_FORCE)
        self.assertEqual(len(self.fake.transactions), 1, "not sent a second time")


class UncertainResendTest(FakeServerCase):
    FAKE = {"drop_after_dot": True}

    # UncertainDelivery=resend (the default): deferred, marked, sent again later
    def test_dropped_after_the_dot_is_deferred_and_marked(self):
        path = self.submit("maybe again")
        self.h.flush("/", UPLOAD)
        props = self.h.get_all(path, IFACE_MESSAGE)
        self.assertEqual(props["State"], "deferred")
        self.assertTrue(props["PossiblyDelivered"])
        self.h.flush("/", UPLOAD)
        self.assertEqual(len(self.fake.transactions), 2, "resent, as MTAs do")


class DelayWarningTest(FakeServerCase):
    FAKE = {"rcpt_reply": lambda address: "451 4.3.0 Try again later"}
    SPOOLER = "DelayWarningTime=1\n"

    # DelayWarningTime: a 4xx server past it gives exactly one "delayed" report
    def test_one_delayed_report(self):
        path = self.submit("slow")
        self.h.flush("/", UPLOAD)
        self.assertEqual(self.state_of(path), "deferred")
        self.h.wait_for_property(path, IFACE_MESSAGE, "DelayReported", bool)
        self.h.flush("/", UPLOAD)  # deferred once more: no second report
        self.assertEqual(self.state_of(path), "deferred")
        reports = self.reports()
        self.assertEqual(len(reports), 1, "exactly one report")
        self.assertIn("Delayed", reports[0]["Subject"])
        status = [p for p in reports[0].walk()
                  if p.get_content_type() == "message/delivery-status"]
        self.assertIn("Action: delayed", status[0].as_string())

    def state_of(self, path):
        return self.h.get_property(path, IFACE_MESSAGE, "State")


if __name__ == "__main__":
    harness.main()
