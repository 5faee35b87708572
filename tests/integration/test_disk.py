#!/usr/bin/env python3
"""The state directory runs out of space or turns read-only (README, "Delivery
guarantees"; docs/bus-api.md, Spooler.Submit: "nothing half-stored"): a submission that
cannot be stored gets a named error saying why, every message acknowledged
before stays intact and deliverable, and the spooler takes mail again once
space returns. Needs root (it mounts a small tmpfs as the state directory)."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_SPOOLER, SPOOLER_PATH, BusError, DaemonTestCase,
    make_message)

IO_ERROR = "org.freedesktop.DBus.Error.IOError"
MAPI_E_DISK_ERROR = ("MAPI_E_DISK_ERROR", 0x80040116)


def mount(*args):
    subprocess.run(["mount"] + list(args), check=True, capture_output=True)


class DiskTestCase(DaemonTestCase):
    START = False

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a tmpfs")
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        self.sink = sink.SmtpSink()
        self.addCleanup(self.sink.close)
        super().setUp()
        os.makedirs(self.h.state_dir, exist_ok=True)
        mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", self.h.state_dir)
        # Cleanups run last-in first-out: unmount after the daemon stopped.
        self.addCleanup(subprocess.run, ["umount", "-l", self.h.state_dir], capture_output=True)
        self.addCleanup(self.h.close)
        self.h.write_config({
            # No quota and no reserve: the store itself is to meet the full disk.
            "mailspool.conf": "[Spooler]\nUserQueueSize=1000000000\nDiskReserve=0\n",
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=on-demand\n" % self.sink.url,
        })
        self.h.start()

    def submit(self, i, size=16384):
        msg = make_message(subject="disk %d" % i, message_id="disk-%d@example.org" % i,
                           body="x" * size + "\n")
        return self.h.submit_data(msg)

    def delivered_ids(self):
        return sorted(m["headers"].split("Message-ID: <", 1)[1].split(">", 1)[0]
                      for m in self.sink.messages())


class FullDiskTest(DiskTestCase):

    # docs/bus-api.md, Spooler.Submit: the reply comes after the message is durably
    # stored; a full disk gets a named error and nothing half-stored
    def test_full_then_space_returns(self):
        acked = []
        refused = None
        for i in range(200):
            try:
                self.submit(i)
                acked.append("disk-%d@example.org" % i)
            except BusError:
                self.need_gdbus()
                refused = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "aya{sv}",
                                            make_message(subject="refused", body="x" * 16384),
                                            {})
                break
        self.assertIsNotNone(refused, "a 1 MiB state directory never filled")
        self.assertGreater(len(acked), 3)
        self.assertBusError(refused, IO_ERROR, MAPI_E_DISK_ERROR)
        self.assertIn("full", refused.message)
        # The daemon still answers, and every acknowledged message is there.
        self.assertEqual(len(self.h.list_messages()), len(acked))

        mount("-o", "remount,size=16m", self.h.state_dir)
        self.submit(1000)
        acked.append("disk-1000@example.org")
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], len(acked), summary)
        self.assertEqual(self.delivered_ids(), sorted(acked), "each acknowledged message once")


class ReadOnlyTest(DiskTestCase):

    # docs/bus-api.md, "The daemon's command line": exit 2 when the store is unavailable;
    # the store is untouched and serves again once writable
    def test_read_only_state_dir(self):
        acked = [self.submit(i, size=100) for i in range(3)]
        self.h.stop_daemon()
        mount("-o", "remount,ro", self.h.state_dir)
        rc, log, _ = self.h.run_daemon_expect_exit()
        self.assertEqual(rc, 2, log)
        self.assertRegex(log, r"(?i)read-only|readonly")

        mount("-o", "remount,rw", self.h.state_dir)
        self.h.start_daemon()
        self.assertEqual(sorted(m[0] for m in self.h.list_messages()), sorted(acked))
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 3)
        self.assertEqual(self.delivered_ids(), ["disk-%d@example.org" % i for i in range(3)])


if __name__ == "__main__":
    harness.main()
