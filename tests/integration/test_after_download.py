#!/usr/bin/env python3
"""Do no harm on the server (mailspool.conf(5), AfterDownload, Mailbox): after an IMAP
download every message's flags are as they were (AfterDownload=keep, the default: a
person reading the account elsewhere still finds new mail unread); seen leaves the
fetched ones \\Seen; delete removes them from the server once they are stored here,
over IMAP and POP3; Mailbox names the IMAP mailbox downloaded. The server is a
private Dovecot; its view is read with Python's imaplib."""

import imaplib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_DOWNLOAD, FLUSH_NO_UI, DaemonTestCase, make_message, transport_path)

IN = transport_path("in")


class ServerCase(DaemonTestCase):
    START = False
    KIND = "imap"
    EXTRA = ""

    def setUp(self):
        if not dovecot.available():
            self.skipTest("Dovecot (dovecot-imapd, dovecot-pop3d) is not installed, or not root")
        self.server = dovecot.Dovecot()
        self.addCleanup(self.server.close)
        super().setUp()
        self.server.configure(self.h, self.KIND, extra="PollInterval=0\n" + self.EXTRA)
        self.h.start()

    def imap(self):
        c = imaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=10)
        c.login(dovecot.USER, dovecot.PASSWORD)
        self.addCleanup(c.logout)
        return c

    def flags(self, mailbox="INBOX"):
        """Subject -> set of flags, as the server has them."""
        c = self.imap()
        _, count = c.select(mailbox, readonly=True)
        if int(count[0]) == 0:
            return {}
        _, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = {}
        for item in data:
            if isinstance(item, tuple):
                subject = item[1].decode().split(":", 1)[1].strip()
                out[subject] = set(imaplib.ParseFlags(item[0])) - {b"\\Recent"}
        return out

    def download(self):
        summary = self.h.flush("/", FLUSH_DOWNLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["errors"], [], summary)
        return summary

    def deliver_read_and_unread(self):
        self.server.deliver(make_message(subject="old"))
        self.server.deliver(make_message(subject="new"))
        c = self.imap()
        c.select("INBOX")
        _, data = c.search(None, "SUBJECT", '"old"')
        c.store(data[0].split()[0], "+FLAGS", "\\Seen")
        self.assertEqual(self.flags(), {"old": {b"\\Seen"}, "new": set()})


class KeepTest(ServerCase):
    # AfterDownload=keep (default): every flag as it was
    def test_flags_are_left_alone(self):
        self.deliver_read_and_unread()
        self.assertEqual(self.download()["received"], 2)
        self.assertEqual(self.flags(), {"old": {b"\\Seen"}, "new": set()},
                         "the unread message is still unread on the server")


class SeenTest(ServerCase):
    EXTRA = "AfterDownload=seen\n"

    def test_fetched_messages_are_seen(self):
        self.deliver_read_and_unread()
        self.assertEqual(self.download()["received"], 2)
        self.assertEqual(self.flags(), {"old": {b"\\Seen"}, "new": {b"\\Seen"}})


class ImapDeleteTest(ServerCase):
    EXTRA = "AfterDownload=delete\n"

    # AfterDownload=delete: gone from the server, here once
    def test_fetched_messages_are_deleted(self):
        self.deliver_read_and_unread()
        self.assertEqual(self.download()["received"], 2)
        self.assertEqual(self.flags(), {})
        self.assertEqual(len(self.h.read_maildir("in")), 2)
        self.assertEqual(self.download()["received"], 0)


class Pop3DeleteTest(ServerCase):
    KIND = "pop3"
    EXTRA = "AfterDownload=delete\n"

    def test_fetched_messages_are_deleted(self):
        self.server.deliver(make_message(subject="one"))
        self.server.deliver(make_message(subject="two"))
        self.assertEqual(self.download()["received"], 2)
        self.assertEqual(self.flags(), {}, "DELE carried out at QUIT")
        self.assertEqual(len(self.h.read_maildir("in")), 2)


class Pop3KeepTest(ServerCase):
    KIND = "pop3"

    def test_messages_stay(self):
        self.server.deliver(make_message(subject="stays"))
        self.assertEqual(self.download()["received"], 1)
        self.assertEqual(set(self.flags()), {"stays"})


class Pop3DeleteAfterTest(ServerCase):
    KIND = "pop3"
    EXTRA = "DeleteAfter=2\n"

    # DeleteAfter: POP3 leaves fetched mail on the server for that many days
    def test_deleted_once_old_enough(self):
        import sqlite3
        self.server.deliver(make_message(subject="kept a while"))
        self.assertEqual(self.download()["received"], 1)
        self.assertEqual(set(self.flags()), {"kept a while"}, "young: left on the server")
        self.assertEqual(self.download()["received"], 0)
        self.assertEqual(set(self.flags()), {"kept a while"})
        # Three days pass for the copy here (its arrival, as the store has it).
        db = sqlite3.connect(os.path.join(self.h.state_dir, "spool.db"), timeout=10)
        with db:
            db.execute("UPDATE messages SET submitted = submitted - ? WHERE direction = "
                       "'inbound'", (3 * 86400 * 1000000,))
        db.close()
        self.assertEqual(self.download()["received"], 0, "not fetched again")
        self.assertEqual(self.flags(), {}, "deleted on the server")
        self.assertEqual(len(self.h.read_maildir("in")), 1)


class MailboxTest(ServerCase):
    EXTRA = "Mailbox=Archive\n"

    # Mailbox: the mailbox downloaded
    def test_another_mailbox(self):
        self.server.deliver(make_message(subject="in the inbox"))
        c = self.imap()
        c.create("Archive")
        c.append("Archive", None, None, make_message(subject="archived"))
        self.assertEqual(self.download()["received"], 1)
        (got,) = self.h.read_maildir("in")
        self.assertIn(b"Subject: archived", got)
        self.assertEqual(self.flags("Archive"), {"archived": set()})


if __name__ == "__main__":
    harness.main()
