#!/usr/bin/env python3
"""Access on the system bus (docs/bus-api.md, "Access (system bus)"): a private
dbus-daemon of type system that includes the project's own policy file
(data/dbus/org.mailspool.Spool1.conf), mailspoold --system on it, and callers
under different uids (setpriv): one user can neither list nor touch another's
mail, admin methods are refused with AccessDenied to a plain user and allowed
to root and the AdminGroup, and only the service's users may own the name."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_SPOOLER, IFACE_STATUS, SPOOLER_PATH,
    STATUS_OUTBOUND_FLUSH, parse_gdbus_error)
from systembus import (  # noqa: E402
    ADMIN, ALICE, BOB, CONFIG_CHANGED, FORCE_XP_CONNECT, FORCE_XP_DISCONNECT, NOT_FOUND, OUT,
    SystemBusCase)


class SystemBusTest(SystemBusCase):

    # docs/bus-api.md, Access: a caller sees and aborts only its own messages
    def test_users_see_and_abort_only_their_own_mail(self):
        mine = self.submit_held(ALICE, "alice's")
        theirs = self.submit_held(BOB, "bob's")
        self.assertIn(mine, self.listed(ALICE))
        self.assertNotIn(theirs, self.listed(ALICE))
        self.assertNotIn(mine, self.listed(BOB))
        for uid in (0, ADMIN):
            everything = self.listed(uid)
            self.assertIn(mine, everything)
            self.assertIn(theirs, everything)

        # Another's message is NotFound to bob, as one that does not exist.
        for method, args in ((IFACE_MESSAGE + ".Abort", ()),
                             ("org.freedesktop.DBus.Properties.GetAll", (IFACE_MESSAGE,))):
            rc, out, err = self.gdbus(BOB, mine, method, *args)
            self.assertNotEqual(rc, 0, "bob called %s on alice's message: %s" % (method, out))
            self.assertEqual(parse_gdbus_error(err).name, NOT_FOUND, err)
        self.assertEqual(self.state(mine), "queued")
        rc, out, err = self.gdbus(ALICE, mine, IFACE_MESSAGE + ".Abort")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.state(mine), "aborted")

    # docs/bus-api.md, Access: admin methods need uid 0 or the AdminGroup (checked by the
    # daemon on the caller's credentials, not by the policy file)
    def test_admin_methods_refused_to_users(self):
        self.denied(BOB, OUT, IFACE_STATUS + ".ChangePassword", "old", "new", "uint32 0")
        self.denied(BOB, OUT, IFACE_STATUS + ".ValidateState", "uint32 %d" % FORCE_XP_DISCONNECT)
        self.denied(BOB, SPOOLER_PATH, IFACE_STATUS + ".ValidateState",
                    "uint32 %d" % CONFIG_CHANGED)
        # The same call from the admin group and from root goes through.
        rc, out, err = self.gdbus(ADMIN, OUT, IFACE_STATUS + ".ValidateState",
                                  "uint32 %d" % FORCE_XP_DISCONNECT)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.gdbus(0, OUT, IFACE_STATUS + ".ValidateState",
                                  "uint32 %d" % FORCE_XP_CONNECT)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.gdbus(ADMIN, SPOOLER_PATH, IFACE_STATUS + ".ValidateState",
                                  "uint32 %d" % CONFIG_CHANGED)
        self.assertEqual(rc, 0, err)

    # docs/bus-api.md, Access: anyone may flush; CancelFlush of another's flush is admin
    def test_cancel_of_anothers_flush_is_refused(self):
        self.submit_held(ALICE, "one")
        self.submit_held(ALICE, "two")
        flush = self.gdbus(ALICE, SPOOLER_PATH, IFACE_STATUS + ".FlushQueues", "/",
                           "uint32 %d" % (FLUSH_UPLOAD | FLUSH_NO_UI), popen=True)
        self.addCleanup(lambda: flush.poll() is None and flush.kill())

        def flushing():
            rc, out, _ = self.gdbus(BOB, OUT, "org.freedesktop.DBus.Properties.Get",
                                    IFACE_STATUS, "StatusCode")
            return rc == 0 and int(out.split()[-1].rstrip(">,)")) & STATUS_OUTBOUND_FLUSH
        self.wait("the flush to start", flushing)
        self.denied(BOB, SPOOLER_PATH, IFACE_SPOOLER + ".CancelFlush", "/")
        out, err = flush.communicate(timeout=60)
        self.assertEqual(flush.returncode, 0, err)
        self.assertIn("'sent': <uint32 2>", out.decode())

    # data/dbus/org.mailspool.Spool1.conf: only root and the service's user own the name
    def test_a_user_cannot_own_the_name(self):
        state = os.path.join(self.dir, "bob-state")
        os.makedirs(state)
        os.chown(state, BOB, BOB)
        argv = self.as_user(BOB, [os.environ["MAILSPOOLD"], "--system", "--config-dir",
                                  os.path.join(self.dir, "nope"), "--state-dir", state])
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=dict(self.env, ASAN_OPTIONS="detect_leaks=0"), timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("org.mailspool.Spool1", p.stderr)


if __name__ == "__main__":
    harness.main()
