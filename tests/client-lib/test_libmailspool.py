#!/usr/bin/env python3
"""Runs the C tests of libmailspool (test-libmailspool, cmocka) against the
real daemon on a private session bus: an on-demand smtp transport "out" into
Postfix's smtp-sink and a maildir transport "local"."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import sink  # noqa: E402


class LibmailspoolTest(harness.DaemonTestCase):
    START = False

    def setUp(self):
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        self.sink = sink.SmtpSink()
        self.addCleanup(self.sink.close)
        super().setUp()
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=on-demand\nDefault=yes\n" % self.sink.url,
            "transports.d/local.conf": "[Transport]\nKind=maildir\n",
        })
        self.h.start()

    def test_c_api(self):
        env = dict(self.h.client_env, MAILSPOOL_BUS="session")
        p = subprocess.run([os.environ["TEST_LIBMAILSPOOL"]], env=env, capture_output=True,
                           text=True, timeout=120)
        sys.stdout.write(p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.sink.count(), 6, "five flushed together, one alone")


if __name__ == "__main__":
    harness.main()
