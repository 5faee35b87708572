#!/usr/bin/env python3
"""Bounded resources per caller (a shared machine, class 1): messages handed
over as pipes that never end take at most a share of the daemon's descriptors
and memory. A user past the limit gets Busy at once, an unfinished pipe fails
with Timeout after SubmitTimeout, and meanwhile another user's submissions go
through at once."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BUS_NAME, IFACE_SPOOLER, SPOOLER_PATH, make_message  # noqa: E402
from systembus import ALICE, BOB, TIMEOUT, SystemBusCase  # noqa: E402

BUSY = "org.mailspool.Spool1.Error.Busy"
TIMED_OUT = "org.mailspool.Spool1.Error.Timeout"
NOFILE = 256  # so: 64 pending pipe submissions in all, 4 per uid
PER_UID = 4


class BoundedSubmitTest(SystemBusCase):

    SPOOLER_CONF = "[Spooler]\nAdminGroup=sys\nSubmitTimeout=3\n"
    DAEMON_NOFILE = NOFILE

    def submit_pipe(self, uid):
        """Submit(h) as uid with a new pipe: (gdbus process, write end)."""
        r, w = os.pipe()
        argv = self.as_user(uid, ["gdbus", "call", "--system", "--dest", BUS_NAME,
                                  "--object-path", SPOOLER_PATH, "--method",
                                  IFACE_SPOOLER + ".Submit", "--timeout", "60",
                                  "@h %d" % r, "{'OnDemand': <true>}"])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env, pass_fds=(r,))
        os.close(r)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.addCleanup(lambda: p.stdout.close() or p.stderr.close())
        return p, w

    def daemon_pipes(self):
        d = "/proc/%d/fd" % self.daemon.pid
        return sum(os.readlink(os.path.join(d, n)).startswith("pipe:") for n in os.listdir(d))

    # docs/bus-api.md, "Spooler.Submit and Spooler.SubmitData": limits
    def test_a_users_endless_pipes_are_bounded_and_others_go_through(self):
        # Bob starts six messages and never ends them.
        bob = [self.submit_pipe(BOB) for _ in range(PER_UID + 2)]
        busy = []
        # Two are refused only once four are being read.
        self.wait("the calls past the limit to be refused",
                  lambda: sum(p.poll() is not None for p, _ in bob) >= 2)
        for p, w in bob:
            if p.poll() is not None:
                busy.append(p.stderr.read())
        self.assertEqual(len(busy), 2, busy)
        for err in busy:
            self.assertIn(BUSY, err)
            self.assertIn("MAPI_E_BUSY (0x8004010B)", err)
        self.assertLessEqual(self.daemon_pipes(), PER_UID, "one descriptor per pending message")

        # Meanwhile alice's mail goes through at once, by bytes and by pipe.
        start = time.monotonic()
        self.submit_held(ALICE, "alice's, while bob floods")
        p, w = self.submit_pipe(ALICE)
        os.write(w, make_message(subject="alice's by pipe"))
        os.close(w)
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, err)
        self.assertLess(time.monotonic() - start, 2.0, "alice waited for bob")

        # Bob's unfinished messages fail after SubmitTimeout, and let go.
        for p, w in bob:
            if p.returncode is None:
                out, err = p.communicate(timeout=TIMEOUT)
                self.assertIn(TIMED_OUT, err)
            os.close(w)
        self.wait("the daemon to let go of bob's pipes", lambda: self.daemon_pipes() == 0)
        self.assertEqual(self.listed(BOB).count("/message/"), 0, "nothing of bob's was stored")
        self.assertEqual(self.listed(ALICE).count("/message/"), 2)


if __name__ == "__main__":
    harness.main()
