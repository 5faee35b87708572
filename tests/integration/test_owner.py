#!/usr/bin/env python3
"""Every message has its true owner (a shared machine, class 4): the owner is the
caller as the bus vouches for it when the call arrives. A message read from a
pipe after its caller has left is still that caller's, never the daemon's own
uid; a caller the bus cannot name is refused."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BUS_NAME, IFACE_MESSAGE, IFACE_SPOOLER, SPOOLER_PATH, make_message  # noqa: E402
from systembus import ALICE, BOB, TIMEOUT, SystemBusCase  # noqa: E402


class OwnerTest(SystemBusCase):

    def messages(self):
        """(path, owner) of every message, as root sees them."""
        out = []
        for p in self.listed(0).split("'"):
            if p.startswith("/org/mailspool/Spool1/message/"):
                rc, owner, err = self.gdbus(0, p, "org.freedesktop.DBus.Properties.Get",
                                            IFACE_MESSAGE, "Owner")
                self.assertEqual(rc, 0, err)
                out.append((p, int(owner.split()[-1].rstrip(">,)"))))
        return out

    # docs/bus-api.md, "Spooler.Submit and Spooler.SubmitData": the owner is the
    # caller; a pipe whose writer finishes after the caller left stays its mail
    def test_message_read_after_its_caller_left_is_still_the_callers(self):
        r, w = os.pipe()
        try:
            # Bob hands over a pipe and leaves: his call times out after a
            # second, long after the daemon took it.
            argv = self.as_user(BOB, ["gdbus", "call", "--system", "--dest", BUS_NAME,
                                      "--object-path", SPOOLER_PATH, "--method",
                                      IFACE_SPOOLER + ".Submit", "--timeout", "1",
                                      "@h %d" % r, "{}"])
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               env=self.env, pass_fds=(r,), timeout=TIMEOUT)
            self.assertIn("Timeout", p.stderr)
        finally:
            os.close(r)
        # Only now does the message end.
        os.write(w, make_message(subject="bob's, written late"))
        os.close(w)

        self.wait("the message to be stored", lambda: self.messages())
        ((path, owner),) = self.messages()
        self.assertEqual(owner, BOB, "%s is bob's, not the daemon's uid %d" % (path, owner))
        # Alice does not see it; bob's mail does not hold up hers.
        self.assertNotIn(path, self.listed(ALICE))
        self.submit_held(ALICE, "alice's")
        self.assertEqual(sorted(o for _, o in self.messages()), sorted([ALICE, BOB]))


if __name__ == "__main__":
    harness.main()
