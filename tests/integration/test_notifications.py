#!/usr/bin/env python3
"""The spooler's own progress on a desktop (docs/bus-api.md, FlushProgress;
[Spooler] Notifications): a flush without FLUSH_NO_UI shows a notification with
a progress bar, replaced in place, then its summary; FLUSH_NO_UI shows none; a
message that fails for good notifies its owner. Against a real notification
server (dunst on Xvfb, tests/integration/notifyd.py) on the tests' private
session bus and Postfix's smtp-sink. Every wait is on what dunst received,
with a bound.

MAILSPOOL_SCREENSHOT=FILE also writes a picture of the screen while a flush
runs (the README's picture, docs/flush-notification.png, is made this way)."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import notifyd  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_ASYNC_OK, FLUSH_NO_UI, FLUSH_UPLOAD, DaemonTestCase, make_message)
from test_smtp_flush import smtp_config  # noqa: E402


class NotificationTestCase(DaemonTestCase):
    START = False
    LEVEL = "all"
    SINK_OPTIONS = ()
    EXTRA = ""

    def setUp(self):
        if not sink.available() or not notifyd.available():
            self.skipTest("needs smtp-sink (postfix), dunst and Xvfb")
        self.sink = sink.SmtpSink(self.SINK_OPTIONS)
        self.addCleanup(self.sink.close)
        super().setUp()
        config = smtp_config(self.sink.url, extra=self.EXTRA)
        config["mailspool.conf"] = "[Spooler]\nNotifications=%s\n" % self.LEVEL
        self.h.write_config(config)
        self.h.start_bus()
        self.desk = notifyd.NotificationServer(self.h.bus_address)
        self.addCleanup(self.desk.close)
        self.h.start_daemon()

    def queue(self, count, prefix="message"):
        for i in range(count):
            self.h.submit_data(make_message(subject="%s %d" % (prefix, i + 1)))

    def ours(self):
        return [n for n in self.desk.received() if n["appname"] == "mailspool"]

    def wait_summary(self, start):
        return self.desk.wait_for(lambda n: n["appname"] == "mailspool"
                                  and n["summary"].startswith(start), what=repr(start))


class ProgressTest(NotificationTestCase):

    # a flush's progress bar, replaced in place by its summary
    def test_flush_shows_progress_then_summary(self):
        self.queue(5)
        summary = self.h.flush("/", FLUSH_UPLOAD)
        self.assertEqual(summary["sent"], 5, summary)
        end = self.wait_summary("Mail sent and received: 5 sent, 0 deferred, 0 failed")
        shown = self.ours()
        progress = [n for n in shown if n["summary"].startswith("Sending ")]
        self.assertTrue(progress, shown)
        for n in progress:
            self.assertRegex(n["summary"], r"^Sending [1-5] of 5 \u2014 out$")
            self.assertIsNotNone(n["value"], n)
            self.assertTrue(0 <= n["value"] <= 100, n)
            self.assertEqual(n["category"], "transfer")
        # Forward only (a report that comes while the last Notify is unanswered is
        # left out: the end replaces it anyway), and every version is one notification.
        values = [n["value"] for n in progress]
        self.assertEqual(values, sorted(values), progress)
        self.assertEqual({n["id"] for n in shown}, {end["id"]}, shown)
        # On screen: only the summary, no progress bar left behind.
        open_now = [n for n in self.desk.displayed() if n["appname"] == "mailspool"]
        self.assertEqual([n["summary"] for n in open_now], [end["summary"]])
        self.assertIsNone(open_now[0]["value"])

    # FLUSH_NO_UI: the caller shows its own progress, the spooler nothing
    def test_no_ui_flush_shows_nothing(self):
        self.queue(2, "quiet")
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)["sent"], 2)
        self.queue(1, "loud")
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD)["sent"], 1)
        # dunst takes Notify calls in the order the daemon sent them: once the
        # second flush's end is there, anything of the first would be too.
        self.wait_summary("Mail sent and received: 1 sent")
        summaries = [n["summary"] for n in self.ours()]
        self.assertFalse([s for s in summaries if "of 2" in s or "2 sent" in s], summaries)


class SlowProgressTest(NotificationTestCase):
    SINK_OPTIONS = ("-w", "1")  # each DATA answered after a second
    EXTRA = "MaxConnections=1\n"  # one after another

    # while a flush runs, its progress bar is what the screen shows
    def test_progress_on_screen_while_sending(self):
        self.queue(3, "slow")
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_ASYNC_OK)
        shown = self.desk.wait_for(lambda n: n["summary"].startswith("Sending "),
                                   state="open", what="the flush's progress")
        # "Sending 2 of 3" when one is done: the bar at a third.
        done = int(shown["summary"].split()[1]) - 1
        self.assertIn(done, (0, 1, 2), shown)
        self.assertEqual(shown["value"], done * 100 // 3)
        picture = os.environ.get("MAILSPOOL_SCREENSHOT")
        if picture:
            self.desk.screenshot(picture)
        self.wait_summary("Mail sent and received: 3 sent")


class TogetherTest(NotificationTestCase):
    SINK_OPTIONS = ("-w", "1")
    EXTRA = "MaxConnections=3\n"  # all three answered in the same instant

    # the end comes before dunst has said the progress's id: it still replaces it
    def test_end_replaces_progress_sent_just_before(self):
        self.queue(3, "together")
        self.h.flush("/", FLUSH_UPLOAD)
        end = self.wait_summary("Mail sent and received: 3 sent")
        self.assertEqual({n["id"] for n in self.ours()}, {end["id"]}, self.ours())
        open_now = [n for n in self.desk.displayed() if n["appname"] == "mailspool"]
        self.assertEqual([n["summary"] for n in open_now], [end["summary"]])


class ErrorsOnlyTest(NotificationTestCase):
    LEVEL = "errors"
    SINK_OPTIONS = ("-f", "RCPT")  # every recipient refused for good

    # Notifications=errors: no progress; a failed message and the flush's end
    def test_failure_is_shown_and_progress_is_not(self):
        self.h.submit_data(make_message(subject="refused one"))
        summary = self.h.flush("/", FLUSH_UPLOAD)
        self.assertEqual(summary["failed"], 1, summary)
        failed = self.desk.wait_for(lambda n: n["summary"] == "Not delivered: refused one",
                                    what="the failed message's notification")
        self.assertIn("5", failed["body"])  # the server's 5xx answer
        self.wait_summary("Mail not all sent: 0 sent, 0 deferred, 1 failed")
        self.assertFalse([n for n in self.ours() if n["summary"].startswith("Sending ")])


class NoneTest(NotificationTestCase):
    LEVEL = "none"
    SINK_OPTIONS = ("-f", "RCPT")

    # Notifications=none: not even a failure
    def test_nothing_shown(self):
        self.h.submit_data(make_message(subject="refused quietly"))
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD)["failed"], 1)
        # Something to wait on that the daemon did not send: the test's own Notify.
        marker = self.desk_notify("marker")
        self.desk.wait_for(lambda n: n["id"] == marker, what="the marker")
        self.assertEqual(self.ours(), [])

    def desk_notify(self, summary):
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.h.bus_address)
        out = subprocess.run(["gdbus", "call", "--session", "--dest",
                              "org.freedesktop.Notifications", "--object-path",
                              "/org/freedesktop/Notifications", "--method",
                              "org.freedesktop.Notifications.Notify", "--", "test", "0", "",
                              summary, "", "[]", "{}", "5000"],
                             env=env, capture_output=True, text=True, check=True,
                             timeout=harness.CALL_TIMEOUT).stdout
        return int(out.strip().strip("(),").split()[1])  # "(uint32 7,)"


if __name__ == "__main__":
    harness.main()
