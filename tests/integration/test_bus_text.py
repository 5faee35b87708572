#!/usr/bin/env python3
"""Every string from outside is valid where it goes (a shared machine, class 5):
a server's reply that is not UTF-8 and a Subject full of terminal escapes, both
from one user's mail, never make another caller's GetManagedObjects, GetAll or
ListMessages fail, and mailspoolctl shows them with the control characters
written out, so that they cannot rewrite an admin's terminal."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_STATUS, SPOOLER_PATH)
from systembus import ALICE, BOB, TIMEOUT, SystemBusCase  # noqa: E402
from test_faults import FakeSmtp  # noqa: E402

VICTIM = "victim@example.org"
# Bytes 0xff 0xfe (not UTF-8) and an escape that would clear a screen.
BAD_REPLY = "550 5.1.1 <victim@example.org> \udcff\udcfe no \x1b[2J such user"
ESCAPE_SUBJECT = "\x1b]0;owned\x07 \x1b[2J hello"


class BusTextTest(SystemBusCase):

    def transports(self):
        self.fake = FakeSmtp(rcpt_reply=lambda a: BAD_REPLY if a == VICTIM else "250 2.1.5 Ok")
        self.addCleanup(self.fake.close)
        return {"out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                            "SendMode=on-demand\n" % self.fake.url}

    def call_ok(self, uid, path, method, *args):
        rc, out, err = self.gdbus(uid, path, method, *args)
        self.assertEqual(rc, 0, "%s as uid %d: %s" % (method, uid, err))
        return out

    def ctl(self, *args):
        p = subprocess.run([os.environ["MAILSPOOLCTL"], "--system"] + list(args),
                           capture_output=True, env=self.env, timeout=TIMEOUT)
        return p.returncode, p.stdout + p.stderr

    # docs/bus-api.md, "Message": text fields are valid UTF-8; mailspoolctl(1)
    def test_bad_bytes_and_escapes_reach_nobody_raw(self):
        path = self.submit_held(BOB, ESCAPE_SUBJECT, to=VICTIM)
        self.call_ok(BOB, SPOOLER_PATH, IFACE_STATUS + ".FlushQueues", "/",
                     "uint32 %d" % (FLUSH_UPLOAD | FLUSH_NO_UI))

        # Everyone's view of the spooler still works.
        for uid in (ALICE, BOB, 0):
            self.call_ok(uid, "/org/mailspool/Spool1",
                         "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
        listing = self.call_ok(0, SPOOLER_PATH, "org.mailspool.Spool1.Spooler.ListMessages",
                               "{}")
        self.assertIn(path, listing)
        props = self.call_ok(0, path, "org.freedesktop.DBus.Properties.GetAll", IFACE_MESSAGE)
        self.assertIn("\ufffd", props, "the bytes that are not UTF-8 are U+FFFD")

        # mailspoolctl writes control characters out.
        for args in (("list",), ("show", path), ("status",)):
            rc, out = self.ctl(*args)
            self.assertEqual(rc, 0, out)
            self.assertNotIn(b"\x1b", out, "%s printed a raw escape: %r" % (args, out))
            self.assertNotIn(b"\x07", out)
        rc, out = self.ctl("show", path)
        self.assertIn(b"\\x1b]0;owned\\x07", out)


if __name__ == "__main__":
    harness.main()
