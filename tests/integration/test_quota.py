#!/usr/bin/env python3
"""Per-user quotas (a shared machine, class 2): one uid's flood stops at its own
quota (held mail counts) with QuotaExceeded, and the free space below
DiskReserve is kept for root and the admin group (DiskFull for others), while
another user's mail still goes in. mailspool-sendmail exits 75 (EX_TEMPFAIL)
for each of these and when no spooler runs."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import make_message, parse_gdbus_error  # noqa: E402
from systembus import ADMIN, ALICE, BOB, TIMEOUT, SystemBusCase  # noqa: E402

QUOTA = "org.mailspool.Spool1.Error.QuotaExceeded"
DISK_FULL = "org.mailspool.Spool1.Error.DiskFull"
EX_TEMPFAIL = 75


class QuotaCase(SystemBusCase):

    def submit_error(self, uid, subject):
        try:
            self.submit_held(uid, subject)
        except AssertionError as e:
            return str(e)
        return None

    def sendmail(self, uid):
        argv = self.as_user(uid, [os.environ["MAILSPOOL_SENDMAIL"], "--system", "-t"])
        p = subprocess.run(argv, input=make_message(subject="by sendmail"), capture_output=True,
                           env=self.env, timeout=TIMEOUT)
        return p.returncode, p.stderr.decode(errors="replace")


class UserQuotaTest(QuotaCase):

    SPOOLER_CONF = "[Spooler]\nAdminGroup=sys\nUserQueueMessages=3\n"

    # docs/bus-api.md, "Configuration files": UserQueueMessages
    def test_a_users_flood_stops_at_its_quota_and_others_go_on(self):
        for i in range(3):
            self.submit_held(BOB, "bob %d" % i)  # held mail counts
        err = self.submit_error(BOB, "one too many")
        self.assertIsNotNone(err, "bob's fourth message went in")
        e = parse_gdbus_error(err)
        self.assertEqual(e.name, QUOTA, err)
        self.assertTrue(e.message.startswith("MAPI_E_NOT_ENOUGH_RESOURCES (0x8007000E):"), err)
        rc, err = self.sendmail(BOB)
        self.assertEqual(rc, EX_TEMPFAIL, err)
        # Alice's quota is her own.
        self.submit_held(ALICE, "alice's")
        self.assertEqual(self.listed(BOB).count("/message/"), 3)


class DiskReserveTest(QuotaCase):

    # A reserve larger than any disk: every user is below it.
    SPOOLER_CONF = "[Spooler]\nAdminGroup=sys\nDiskReserve=18446744073709551614\n"

    # docs/bus-api.md, "Configuration files": DiskReserve
    def test_the_reserve_is_for_root_and_the_admin_group(self):
        err = self.submit_error(BOB, "bob's")
        self.assertIsNotNone(err)
        e = parse_gdbus_error(err)
        self.assertEqual(e.name, DISK_FULL, err)
        rc, err = self.sendmail(ALICE)
        self.assertEqual(rc, EX_TEMPFAIL, err)
        self.submit_held(ADMIN, "the admin's")
        self.submit_held(0, "root's")
        self.assertEqual(self.listed(0).count("/message/"), 2)

    # mailspool-sendmail(8): 75 when no spooler runs
    def test_sendmail_without_a_spooler_is_a_temporary_failure(self):
        self.stop(self.daemon)
        rc, err = self.sendmail(BOB)
        self.assertEqual(rc, EX_TEMPFAIL, err)


if __name__ == "__main__":
    harness.main()
