#!/usr/bin/env python3
"""TLS done safely (issue: real accounts): credentials are never sent without TLS.
A transport with User on a plain smtp:// URL requires STARTTLS unless StartTLS=no
is written out, so a server that does not offer STARTTLS (as one whose STARTTLS
is stripped on the path) never sees AUTH; with StartTLS=no written out it does,
and the log and StatusString warn about it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    ERR_NETWORK_ERROR, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_STATUS, SPOOLER_PATH, DaemonTestCase,
    make_message, transport_path)
from test_faults import FakeSmtp  # noqa: E402

OUT = transport_path("out")


class StartTlsPolicyTest(DaemonTestCase):

    START = False

    def configure(self, starttls_line):
        self.fake = FakeSmtp(auth=True)
        self.addCleanup(self.fake.close)
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nUser=alice\n"
                                     "PasswordFile=out.password\nSendMode=on-demand\n%s"
                                     % (self.fake.url, starttls_line),
            "out.password": "s3cret\n",
        })
        os.chmod(os.path.join(self.h.config_dir, "out.password"), 0o600)
        self.h.start()

    # mailspool.conf(5), StartTLS: with User, STARTTLS is required by default
    def test_no_starttls_offered_means_no_logon(self):
        self.configure("")
        self.h.submit_data(make_message(subject="secret"))
        err = self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", OUT,
                                FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(err.name, ERR_NETWORK_ERROR, err)
        self.assertEqual(self.fake.auths, [], "the password went out in clear")
        self.assertEqual(self.fake.transactions, [])

    # StartTLS=yes keeps its meaning only for anonymous use
    def test_starttls_yes_with_a_password_is_required_too(self):
        self.configure("StartTLS=yes\n")
        self.h.submit_data(make_message(subject="secret"))
        self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", OUT,
                          FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(self.fake.auths, [])

    # StartTLS=no written out: the old behaviour, warned about at every logon
    def test_starttls_no_written_out_logs_on_with_a_warning(self):
        self.configure("StartTLS=no\n")
        self.assertIn("without TLS", self.h.get_property(OUT, IFACE_STATUS, "StatusString"))
        self.h.submit_data(make_message(subject="in clear"))
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(len(self.fake.auths), 1, self.fake.auths)
        self.assertIn("without TLS (StartTLS=no)", self.h.daemon_log())


if __name__ == "__main__":
    harness.main()
