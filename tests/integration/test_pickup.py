#!/usr/bin/env python3
"""No queue wedged (a shared machine, class 6): a Pickup directory that users
may write to holds a symbolic link, a socket and a file the daemon cannot read.
Each is skipped (logged, counted in SkippedInbound; a non-file moved aside as
.rejected.NAME, an unreadable file left for later) and the good mail beside them
is still taken. The daemon runs under an account of its own, as under the unit."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_DOWNLOAD, FLUSH_NO_UI, IFACE_STATUS, IFACE_TRANSPORT, SPOOLER_PATH, make_message,
    transport_path)
from systembus import ALICE, BOB, TIMEOUT, SystemBusCase  # noqa: E402

DAEMON = 8  # the "mail" account
DROP = transport_path("drop")


class PickupTest(SystemBusCase):

    DAEMON_UID = DAEMON

    def transports(self):
        self.pickup = os.path.join(self.dir, "dropbox")
        return {"drop.conf": "[Transport]\nKind=maildir\nPickup=%s\nPollInterval=0\n"
                             % self.pickup}

    def configure(self, config_dir):
        os.makedirs(self.pickup)
        os.chmod(self.pickup, 0o777)  # a drop box every user may write to

    def as_bob(self, code):
        p = subprocess.run(self.as_user(BOB, [sys.executable, "-c", code]), capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)

    # docs/bus-api.md, "Transport": SkippedInbound; mailspool.conf(5), Pickup
    def test_bad_entries_are_skipped_and_good_mail_still_taken(self):
        d = self.pickup
        # Bob's traps, first in name order: a link to a file he may not read, a
        # socket that would block a reader, a file only he could read.
        self.as_bob("import os, socket\n"
                    "os.symlink('/etc/shadow', %r)\n"
                    "s = socket.socket(socket.AF_UNIX); s.bind(%r)\n"
                    "open(%r, 'w').write('From: b@x\\n\\nsecret\\n'); os.chmod(%r, 0)\n"
                    % (os.path.join(d, "a-link"), os.path.join(d, "b-sock"),
                       os.path.join(d, "c-secret"), os.path.join(d, "c-secret")))
        good = os.path.join(d, "d-good")
        with open(good, "wb") as f:
            f.write(make_message(subject="alice's dropped mail"))
        os.chown(good, ALICE, ALICE)

        rc, out, err = self.gdbus(ALICE, SPOOLER_PATH, IFACE_STATUS + ".FlushQueues", DROP,
                                  "uint32 %d" % (FLUSH_DOWNLOAD | FLUSH_NO_UI))
        self.assertEqual(rc, 0, err)
        self.assertIn("'received': <uint32 1>", out, "the good mail is taken: %s" % out)
        self.assertRegex(out, r"'errors': <@a\(oss\) \[\]>", "no error: the pickup went on")

        rc, out, err = self.gdbus(ALICE, DROP, "org.freedesktop.DBus.Properties.Get",
                                  IFACE_TRANSPORT, "SkippedInbound")
        self.assertEqual(rc, 0, err)
        self.assertIn("uint32 3", out)
        names = sorted(os.listdir(d))
        self.assertEqual(names, [".rejected.a-link", ".rejected.b-sock", "c-secret"], names)


if __name__ == "__main__":
    harness.main()
