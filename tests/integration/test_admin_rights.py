#!/usr/bin/env python3
"""Admin and owner rights as documented (a shared machine, class 7): a user may
cancel a flush they started, also one started with FLUSH_ASYNC_OK whose call is
long answered, from another connection; another user may not. ChangePassword
works for a daemon that runs under an account of its own and may not write
beside its configuration, as under the shipped unit."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_ASYNC_OK, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_SPOOLER, IFACE_STATUS, SPOOLER_PATH,
    STATUS_OUTBOUND_FLUSH)
from systembus import ADMIN, ALICE, BOB, OUT, SystemBusCase  # noqa: E402

LOGON_FAILED = "org.mailspool.Spool1.Error.LogonFailed"
DAEMON = 8  # the "mail" account: the daemon's own, as "mailspool" is under the unit


class AdminRightsTest(SystemBusCase):

    def flushing(self):
        rc, out, _ = self.gdbus(BOB, OUT, "org.freedesktop.DBus.Properties.Get", IFACE_STATUS,
                                "StatusCode")
        return rc == 0 and int(out.split()[-1].rstrip(">,)")) & STATUS_OUTBOUND_FLUSH

    # docs/bus-api.md, "Spooler.CancelFlush": the flush's own user, root or the
    # AdminGroup; an asynchronous flush is still its starter's
    def test_owner_cancels_an_asynchronous_flush_another_user_may_not(self):
        for i in range(3):
            self.submit_held(ALICE, "slow %d" % i)
        rc, out, err = self.gdbus(ALICE, SPOOLER_PATH, IFACE_STATUS + ".FlushQueues", "/",
                                  "uint32 %d" % (FLUSH_UPLOAD | FLUSH_NO_UI | FLUSH_ASYNC_OK))
        self.assertEqual(rc, 0, err)
        self.wait("the flush to start", self.flushing)

        self.denied(BOB, SPOOLER_PATH, IFACE_SPOOLER + ".CancelFlush", "/")
        rc, out, err = self.gdbus(ALICE, SPOOLER_PATH, IFACE_SPOOLER + ".CancelFlush", "/")
        self.assertEqual(rc, 0, "alice cancels her own asynchronous flush: %s" % err)
        self.wait("the flush to end", lambda: not self.flushing())


class ChangePasswordTest(SystemBusCase):

    DAEMON_UID = DAEMON

    def transports(self):
        return {"out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                            "SendMode=on-demand\nUser=alice\nPasswordFile=out.password\n"
                            % self.sink.url}

    def configure(self, config_dir):
        # The configuration is root's and read-only to the daemon; only the
        # password file is the daemon's to read.
        path = os.path.join(config_dir, "out.password")
        with open(path, "w") as f:
            f.write("first\n")
        os.chmod(path, 0o600)
        os.chown(path, DAEMON, DAEMON)
        self.password_file = path

    def change(self, uid, old, new):
        return self.gdbus(uid, OUT, IFACE_STATUS + ".ChangePassword", old, new, "uint32 0")

    # docs/bus-api.md, "Status.ChangePassword": the new secret is kept in the
    # state directory (0600, written atomically) and used from then on
    def test_change_password_as_the_daemons_own_user(self):
        st = os.stat(self.config)
        self.assertEqual((st.st_uid, st.st_mode & 0o022), (0, 0), "the daemon may not write here")
        rc, out, err = self.change(ADMIN, "first", "second")
        self.assertEqual(rc, 0, "ChangePassword by the admin group: %s" % err)
        stored = os.path.join(self.state_dir, "secrets", "out")
        st = os.stat(stored)
        self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o600, DAEMON))
        with open(stored) as f:
            self.assertEqual(f.read(), "second\n")
        with open(self.password_file) as f:
            self.assertEqual(f.read(), "first\n", "the configuration is left as it was")
        # The new password is the one in force: the old one is refused now.
        rc, out, err = self.change(0, "first", "third")
        self.assertNotEqual(rc, 0, out)
        self.assertIn(LOGON_FAILED, err)
        rc, out, err = self.change(0, "second", "third")
        self.assertEqual(rc, 0, err)
        self.denied(BOB, OUT, IFACE_STATUS + ".ChangePassword", "third", "fourth", "uint32 0")


if __name__ == "__main__":
    harness.main()
