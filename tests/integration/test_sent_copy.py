#!/usr/bin/env python3
"""Copy to Sent (mailspool.conf(5), SentCopy=; the Message properties SentCopy and
SentCopyError): once the SMTP server (Postfix's smtp-sink) takes a message, the daemon
appends it, \\Seen, to a mailbox of an IMAP transport (a private Dovecot). A failing
copy holds nothing back and is retried with back-off; an attempt after one that may
have made the copy looks for the Message-ID first, so nothing is copied twice. The
server's view is read with Python's imaplib; every wait is on a property, bounded."""

import email
import imaplib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import sink  # noqa: E402
from harness import IFACE_MESSAGE, DaemonTestCase, make_message  # noqa: E402

BUILD = os.path.dirname(os.path.dirname(os.environ.get("MAILSPOOLD", "build/service/mailspoold")))
CTL = os.environ.get("MAILSPOOLCTL", os.path.join(BUILD, "client-lib", "mailspoolctl"))
# Retries start at 2 s and double: three of them fit in this.
RETRY_TIMEOUT = 30 * harness._SCALE


class SentCopyCase(DaemonTestCase):
    START = False
    MAILBOX = "Sent"

    def setUp(self):
        if not dovecot.available() or not sink.available():
            self.skipTest("needs Dovecot (dovecot-imapd, root) and smtp-sink (postfix)")
        self.server = dovecot.Dovecot()
        self.addCleanup(self.server.close)
        self.sink = sink.SmtpSink()
        self.addCleanup(self.sink.close)
        super().setUp()
        self.server.configure(self.h, "imap", extra="PollInterval=0\n")
        self.h.write_config({"transports.d/out.conf":
                             "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\nDefault=yes\n"
                             "SentCopy=in:%s\n" % (self.sink.url, self.MAILBOX)}, clear=False)
        self.h.start()

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=10)
        c.login(dovecot.USER, dovecot.PASSWORD)
        self.addCleanup(c.logout)
        return c

    def mailbox(self, name=None):
        """The messages of the mailbox: [(flags, message)]."""
        c = self.imap()
        typ, count = c.select(name or self.MAILBOX, readonly=True)
        if typ != "OK" or int(count[0]) == 0:
            return []
        _, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
        return [(set(imaplib.ParseFlags(item[0])) - {b"\\Recent"},
                 email.message_from_bytes(item[1]))
                for item in data if isinstance(item, tuple)]

    def create_mailbox(self, name=None):
        typ, _ = self.imap().create(name or self.MAILBOX)
        self.assertEqual(typ, "OK")

    def copy_state(self, path, want, timeout=harness.WAIT_TIMEOUT):
        return self.h.wait_for_property(path, IFACE_MESSAGE, "SentCopy", lambda v: v == want,
                                        timeout=timeout)


class SentCopyTest(SentCopyCase):

    # after the server's 250, the message is in Sent, \Seen, once
    def test_sent_message_is_copied(self):
        self.create_mailbox()
        message = make_message(subject="keep a copy")
        path = self.h.submit_data(message)
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "SentCopy"), "pending")
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")
        self.copy_state(path, "copied")
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "SentCopyError"), "")
        copies = self.mailbox()
        self.assertEqual(len(copies), 1, copies)
        flags, copy = copies[0]
        self.assertEqual(flags, {b"\\Seen"})
        self.assertEqual(copy["Subject"], "keep a copy")
        sent = email.message_from_bytes(message)
        self.assertEqual(copy["Message-ID"], sent["Message-ID"])
        self.assertEqual(copy.get_payload(), sent.get_payload())
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(self.mailbox("INBOX"), [])  # nothing went anywhere else
        # mailspoolctl shows it
        shown = subprocess.run([CTL, "--user", "show", path], env=self.h.client_env,
                               capture_output=True, text=True, timeout=harness.CALL_TIMEOUT)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("    Sent copy: copied\n", shown.stdout)


class FailingCopyTest(SentCopyCase):
    MAILBOX = "Outgoing"

    # no such mailbox: the server says TRYCREATE, and the copy creates it
    def test_missing_mailbox_is_created(self):
        path = self.h.submit_data(make_message(subject="first copy"))
        self.copy_state(path, "copied")
        self.assertEqual([m["Subject"] for _, m in self.mailbox()], ["first copy"])
        self.assertIn("creating the mailbox", self.h.daemon_log())

    # the server down: sent all the same, the copy shows why and waits;
    # once the server is back, a retry makes it
    def test_failed_copy_is_retried(self):
        self.create_mailbox()
        self.server.stop()
        path = self.h.submit_data(make_message(subject="copy later"))
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")
        error = self.h.wait_for_property(path, IFACE_MESSAGE, "SentCopyError",
                                         lambda e: e != "")
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "SentCopy"), "pending")
        self.assertEqual(self.sink.count(), 1)
        shown = subprocess.run([CTL, "--user", "show", path, "--json"], env=self.h.client_env,
                               capture_output=True, text=True, timeout=harness.CALL_TIMEOUT)
        self.assertEqual(json.loads(shown.stdout)["sent_copy_error"], error)
        # Sending goes on meanwhile.
        second = self.h.submit_data(make_message(subject="and another"))
        self.h.wait_for_property(second, IFACE_MESSAGE, "State", lambda s: s == "sent")
        self.server.start()
        self.copy_state(path, "copied", timeout=RETRY_TIMEOUT)
        self.copy_state(second, "copied", timeout=RETRY_TIMEOUT)
        subjects = sorted(m["Subject"] for _, m in self.mailbox())
        self.assertEqual(subjects, ["and another", "copy later"])

    # an attempt after one that may have made the copy looks first
    def test_copy_already_there_is_not_made_again(self):
        message = make_message(subject="maybe copied")
        self.server.stop()
        path = self.h.submit_data(message)
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")
        self.h.wait_for_property(path, IFACE_MESSAGE, "SentCopyError", lambda e: e != "")
        # As if the failed attempt had reached the server after all.
        self.server.start()
        self.create_mailbox()
        c = self.imap()
        self.assertEqual(c.append(self.MAILBOX, "(\\Seen)", None, message)[0], "OK")
        self.h.restart_daemon()
        self.copy_state(path, "copied", timeout=RETRY_TIMEOUT)
        self.assertEqual(len(self.mailbox()), 1)


class ConfigTest(DaemonTestCase):
    START = False

    # SentCopy names an imap transport that exists
    def test_sent_copy_must_name_an_imap_transport(self):
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=smtp://127.0.0.1:1\n"
                                     "SentCopy=local:Sent\n",
            "transports.d/local.conf": "[Transport]\nKind=maildir\n",
        })
        self.h.start_bus()
        code, log, _ = self.h.run_daemon_expect_exit()
        self.assertNotEqual(code, 0)
        self.assertIn('SentCopy: transport "local" is of kind maildir', log)


if __name__ == "__main__":
    harness.main()
