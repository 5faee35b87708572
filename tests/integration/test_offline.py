#!/usr/bin/env python3
"""Offline awareness (docs/bus-api.md, "Status": STATUS_OFFLINE): the daemon runs in a
network namespace joined to the server's by a veth pair; taking the link down is a real
kernel event (rtnetlink). Without a network the transport shows STATUS_OFFLINE and a
StatusString that says why, a new message waits without spending an attempt, and
FlushQueues answers NetworkError at once; when the link comes back the waiting mail goes
out with no poll and no flush. An imap transport waiting in IDLE closes its connection
while the link is down and, once it is back, connects again and fetches what came
meanwhile (README, "New mail as it arrives"). Needs root and iproute2's ip; the IDLE
test also Dovecot."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    ERR_NETWORK_ERROR, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_STATUS, SPOOLER_PATH,
    STATUS_OFFLINE, DaemonTestCase, make_message, transport_path)

OUT = transport_path("out")
MAPI_E_NETWORK_ERROR = ("MAPI_E_NETWORK_ERROR", 0x80040115)
IP = shutil.which("ip") or "/usr/sbin/ip"


def ip(*args):
    subprocess.run([IP] + list(args), check=True, capture_output=True, timeout=30)


class NamespaceCase(DaemonTestCase):
    """The daemon in a network namespace of its own; self.server_host is the
    address outside, across the veth pair, where a server listens."""

    START = False

    def make_namespace(self):
        tag = os.getpid() % 200 + 20
        self.ns = "mailspool-%d" % os.getpid()
        self.inside, self.outside = "msp%da" % tag, "msp%db" % tag
        net = "10.%d.%d" % (200 + tag % 50, tag)
        ip("netns", "add", self.ns)
        self.addCleanup(subprocess.run, [IP, "netns", "del", self.ns], capture_output=True)
        ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
        self.addCleanup(subprocess.run, [IP, "link", "del", self.outside], capture_output=True)
        ip("link", "set", self.inside, "netns", self.ns)
        ip("addr", "add", net + ".1/30", "dev", self.outside)
        ip("link", "set", self.outside, "up")
        ip("-n", self.ns, "link", "set", "lo", "up")
        ip("-n", self.ns, "addr", "add", net + ".2/30", "dev", self.inside)
        ip("-n", self.ns, "link", "set", self.inside, "up")
        self.server_host = net + ".1"

    def start_in_namespace(self):
        # The daemon lives in the namespace; the bus is a file socket, seen from both.
        os.environ["MAILSPOOLD_WRAPPER"] = "%s netns exec %s" % (IP, self.ns)
        self.addCleanup(os.environ.pop, "MAILSPOOLD_WRAPPER", None)
        self.h.start()

    def link(self, state):
        ip("-n", self.ns, "link", "set", self.inside, state)


class OfflineTest(NamespaceCase):

    def setUp(self):
        if os.geteuid() != 0 or not os.access(IP, os.X_OK) or not sink.available():
            self.skipTest("needs root, iproute2 and smtp-sink")
        self.make_namespace()
        self.sink = sink.SmtpSink(host=self.server_host)
        self.addCleanup(self.sink.close)
        super().setUp()
        self.h.write_config({"transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\n"
                                                      "StartTLS=no\n" % self.sink.url})
        self.start_in_namespace()

    def status(self):
        return self.h.get_property(OUT, IFACE_STATUS, "StatusCode")

    def test_offline_and_back(self):
        first = self.h.submit_data(make_message(subject="online"))
        self.h.wait_for_property(first, IFACE_MESSAGE, "State", lambda s: s == "sent")
        self.assertFalse(self.status() & STATUS_OFFLINE)

        self.link("down")
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: c & STATUS_OFFLINE)
        self.assertIn("no network", self.h.get_property(OUT, IFACE_STATUS, "StatusString"))
        waiting = self.h.submit_data(make_message(subject="while offline"))
        err = self.h.call_error(OUT, IFACE_STATUS, "FlushQueues", "ou", "/",
                                FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertBusError(err, ERR_NETWORK_ERROR, MAPI_E_NETWORK_ERROR)
        self.assertIn("no network", err.message)
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI, path=SPOOLER_PATH)
        self.assertIn(OUT, summary["skipped"])
        props = self.h.get_all(waiting, IFACE_MESSAGE)
        self.assertEqual((props["State"], props["Attempts"]), ("queued", 0),
                         "no attempt spent without a network")

        self.link("up")
        self.h.wait_for_property(waiting, IFACE_MESSAGE, "State", lambda s: s == "sent")
        self.assertFalse(self.status() & STATUS_OFFLINE)
        self.assertEqual(self.sink.count(), 2)


class IdleOfflineTest(NamespaceCase):
    IN = transport_path("in")

    def setUp(self):
        if os.geteuid() != 0 or not os.access(IP, os.X_OK) or not dovecot.available():
            self.skipTest("needs root, iproute2 and Dovecot")
        self.make_namespace()
        self.server = dovecot.Dovecot(host=self.server_host)
        self.addCleanup(self.server.close)
        super().setUp()
        self.server.configure(self.h, "imap", extra="PollInterval=0\n", idle=True)
        self.start_in_namespace()

    def status_string(self):
        return self.h.get_property(self.IN, IFACE_STATUS, "StatusString")

    def test_idle_across_the_link_going_down_and_up(self):
        idling = "Ready; new mail comes as it arrives (IDLE)"
        self.h.wait_for_property(self.IN, IFACE_STATUS, "StatusString",
                                 lambda s: s.startswith(idling))
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        self.link("down")
        self.h.wait_for_property(self.IN, IFACE_STATUS, "StatusCode",
                                 lambda c: c & STATUS_OFFLINE)
        self.assertIn("no network", self.status_string())
        self.server.deliver(make_message(subject="while the link was down"))
        self.link("up")
        mon.wait_for(lambda m: any(x.get("path") == self.IN for x in mon.found(lambda y: True)),
                     timeout=30, what="the message delivered while the link was down")
        self.h.wait_for_property(self.IN, IFACE_STATUS, "StatusString",
                                 lambda s: s.startswith(idling), timeout=30)
        (data,) = self.h.read_maildir("in")
        self.assertIn(b"Subject: while the link was down", data)


if __name__ == "__main__":
    harness.main()
