#!/usr/bin/env python3
"""Runs the C tests of libmailspool (test-libmailspool, cmocka) against the
real daemon on a private session bus, set up as for the client tests: an
on-demand smtp transport "out" into Postfix's smtp-sink and a maildir
transport "local"."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from test_clients import ClientTestCase  # noqa: E402


class LibmailspoolTest(ClientTestCase):

    def test_c_api(self):
        env = dict(self.h.client_env, MAILSPOOL_BUS="session")
        p = subprocess.run([os.environ["TEST_LIBMAILSPOOL"]], env=env, capture_output=True,
                           text=True, timeout=120)
        sys.stdout.write(p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.sink.count(), 6, "five flushed together, one alone")


if __name__ == "__main__":
    harness.main()
