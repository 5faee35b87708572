#!/usr/bin/env python3
"""Push, not poll (mailspool.conf(5), Idle; README, "New mail as it arrives"): an imap
transport keeps a connection waiting in IDLE on its mailbox. A message delivered to
the server while it waits is here within a second, with PollInterval=0 (no poll at
all) and no wakeup of the daemon before it; when the server goes away and comes back
the transport connects again by itself and fetches what came meanwhile; a server
without IDLE is polled; offline, the connection is closed. The server is a private
Dovecot on loopback, which tells a waiting client of new mail at once (inotify)."""

import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
from harness import (  # noqa: E402
    FORCE_XP_CONNECT, FORCE_XP_DISCONNECT, IFACE_STATUS, STATUS_FAILURE, STATUS_OFFLINE,
    DaemonTestCase, make_message, transport_path)

IN = transport_path("in")
IDLING = "Ready; new mail comes as it arrives (IDLE)"
# From the server's delivery to MessageReceived. Dovecot itself tells a client
# in IDLE some 500 ms after a delivery (it lets changes settle first).
PUSH_BOUND = 1.0


def wakeups(pid):
    """Context switches of every thread of pid: each is a wakeup (or a preemption)."""
    n = 0
    for status in glob.glob("/proc/%d/task/*/status" % pid):
        with open(status) as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    n += int(line.split()[1])
    return n


def established(port):
    """Established TCP connections to 127.0.0.1:port, from /proc/net/tcp."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and remote == "0100007F:%04X" % port:
                n += 1
    return n


class IdleCase(DaemonTestCase):
    START = False
    SETTINGS = ""
    EXTRA = "PollInterval=0\n"

    def setUp(self):
        if not dovecot.available():
            self.skipTest("Dovecot (dovecot-imapd) is not installed, or not root")
        self.server = dovecot.Dovecot(settings=self.SETTINGS)
        self.addCleanup(self.server.close)
        super().setUp()
        self.server.configure(self.h, "imap", extra=self.EXTRA, idle=True)
        self.h.start()

    def status(self):
        return self.h.get_property(IN, IFACE_STATUS, "StatusString")

    def wait_idling(self, timeout=20):
        """Until the transport waits in IDLE with no download running."""
        return self.h.wait_for_property(IN, IFACE_STATUS, "StatusString",
                                        lambda s: s.startswith(IDLING), timeout=timeout)

    def received(self, mon):
        return mon.found(lambda m: m.get("path") == IN)


class IdleTest(IdleCase):
    # A message delivered while the transport idles is here within a second; the
    # daemon did not wake before the server spoke.
    def test_new_mail_is_pushed(self):
        self.wait_idling()
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        pid = self.h.daemon.pid
        before = wakeups(pid)
        time.sleep(2)  # a window measured for wakeups, not a wait for anything
        quiet = wakeups(pid) - before
        self.assertEqual(quiet, 0, "the idle daemon woke %d times in 2 s" % quiet)
        self.assertEqual(self.received(mon), [])

        delivered = time.monotonic()
        self.server.deliver(make_message(subject="pushed"))
        mon.wait_for(lambda m: len(self.received(mon)) >= 1, timeout=10,
                     what="MessageReceived for the pushed message")
        elapsed = time.monotonic() - delivered
        print("pushed message here %.0f ms after its delivery" % (elapsed * 1000),
              file=sys.stderr)
        self.assertLess(elapsed, PUSH_BOUND)
        (data,) = self.h.read_maildir("in")
        self.assertIn(b"Subject: pushed", data)
        self.wait_idling()

    # Mail that comes while a download runs is fetched by one more download after
    # it (with PollInterval=0 nothing else would fetch it).
    def test_mail_during_a_download_is_fetched_next(self):
        self.wait_idling()
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        for n in range(300):
            self.server.deliver(make_message(subject="batch %d" % n))
        mon.wait_for(lambda m: len(self.received(mon)) >= 1, timeout=20,
                     what="the download of the first ones under way")
        self.assertTrue(self.h.get_property(IN, IFACE_STATUS, "StatusString") == "Receiving")
        self.server.deliver(make_message(subject="late"))
        mon.wait_for(lambda m: len(self.received(mon)) >= 301, timeout=120,
                     what="all 300 and the late one")
        self.wait_idling()
        self.assertEqual(len(self.h.read_maildir("in")), 301)

    # What was there before the transport first connected is fetched once it idles.
    def test_mail_waiting_at_start_is_fetched(self):
        self.wait_idling()
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        self.server.deliver(make_message(subject="one"))
        self.server.deliver(make_message(subject="two"))
        mon.wait_for(lambda m: len(self.received(mon)) >= 2, timeout=10,
                     what="both pushed messages")
        self.h.restart_daemon()
        self.wait_idling()
        # Nothing is fetched twice after the restart's catch-up download.
        self.assertEqual(len(self.h.read_maildir("in")), 2)

    # Dovecot restarted while the transport idles: the transport shows the failure,
    # connects again by itself, and what was delivered meanwhile arrives.
    def test_server_restart_reconnects_and_misses_nothing(self):
        self.wait_idling()
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        self.server.stop()
        status = self.h.wait_for_property(IN, IFACE_STATUS, "StatusCode",
                                          lambda c: c & STATUS_FAILURE, timeout=20)
        self.assertFalse(status & STATUS_OFFLINE)
        self.assertIn("No news of new mail", self.status())
        self.server.deliver(make_message(subject="while away"))
        self.server.start()
        mon.wait_for(lambda m: len(self.received(mon)) >= 1, timeout=30,
                     what="the message delivered while the server was down")
        self.wait_idling(timeout=30)
        self.assertFalse(self.h.get_property(IN, IFACE_STATUS, "StatusCode") & STATUS_FAILURE)
        (data,) = self.h.read_maildir("in")
        self.assertIn(b"Subject: while away", data)

    # Offline by request, the connection is closed; back on line it idles again and
    # fetches what came meanwhile.
    def test_offline_closes_and_online_reopens(self):
        self.wait_idling()
        # The IDLE connection and the catch-up download's, which libcurl keeps.
        connections = established(self.server.imap_port)
        self.assertEqual(connections, 2)
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", FORCE_XP_DISCONNECT)
        self.h.wait_for("the IDLE connection closed",
                        lambda: established(self.server.imap_port) == connections - 1)
        self.assertEqual(self.status(), "Offline")
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        self.server.deliver(make_message(subject="while offline"))
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", FORCE_XP_CONNECT)
        mon.wait_for(lambda m: len(self.received(mon)) >= 1, timeout=10,
                     what="the message delivered while offline")
        self.wait_idling()


class IdleOffTest(IdleCase):
    EXTRA = "PollInterval=0\nIdle=no\n"

    # Idle=no: no IDLE, and StatusString says nothing of it. (A check's full round
    # trip to the server outlasts an IDLE connection's start.)
    def test_no_idle(self):
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertTrue(self.status().startswith("Ready"), self.status())
        self.assertNotIn("IDLE", self.status())


class NotOfferedTest(IdleCase):
    # Dovecot announcing a capability list without IDLE.
    SETTINGS = "imap_capability = IMAP4rev1 SASL-IR LITERAL+ UIDPLUS\n"
    EXTRA = "PollInterval=1\n"

    # A server without IDLE is polled, and StatusString says so.
    def test_polled_instead(self):
        self.h.wait_for_property(IN, IFACE_STATUS, "StatusString",
                                 lambda s: "offers no IDLE" in s)
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        self.server.deliver(make_message(subject="polled"))
        mon.wait_for(lambda m: len(self.received(mon)) >= 1, timeout=10,
                     what="the message, by the poll")


if __name__ == "__main__":
    import unittest
    unittest.main()
