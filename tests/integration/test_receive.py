#!/usr/bin/env python3
"""Receiving: the imap and pop3 transports against a real, private Dovecot on
loopback (docs/bus-api.md, Status.FlushQueues with FLUSH_DOWNLOAD; README, "Receiving
mail"): every message the server holds arrives in our Maildir exactly once, a
second flush fetches nothing, a new message arrives alone, MessageReceived
names each one, a kill -9 mid-download loses and doubles nothing, the INBOUND
bits, Busy, LogonFailed and NetworkError."""

import email
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import harness  # noqa: E402
import sink  # noqa: E402
from harness import FLUSH_UPLOAD  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, ERR_BUSY, ERR_LOGON_FAILED, ERR_NETWORK_ERROR, FLUSH_DOWNLOAD, FLUSH_NO_UI,
    IFACE_STATUS, IFACE_TRANSPORT, MAPI_E_BUSY, SPOOLER_PATH, STATUS_FAILURE,
    STATUS_INBOUND_FLUSH, DaemonTestCase, V, make_message, signal_args, transport_path)

MAPI_E_LOGON_FAILED = ("MAPI_E_LOGON_FAILED", 0x80040111)
MAPI_E_NETWORK_ERROR = ("MAPI_E_NETWORK_ERROR", 0x80040115)
IN = transport_path("in")
DOWNLOAD = FLUSH_DOWNLOAD | FLUSH_NO_UI


def message_ids(blobs):
    return sorted(email.message_from_bytes(b)["Message-ID"].strip("<>") for b in blobs)


class ReceiveMixin:
    """Tests for one kind (KIND, url attribute of the Dovecot helper in URL)."""

    KIND = None
    URL = None
    START = False
    PASSWORD = dovecot.PASSWORD
    POLL_INTERVAL = 0

    def setUp(self):
        if not dovecot.available():
            self.skipTest("Dovecot (dovecot-imapd, dovecot-pop3d) is not installed, or not root")
        self.server = dovecot.Dovecot()
        self.addCleanup(self.server.close)
        super().setUp()
        self.server.configure(self.h, self.KIND, self.PASSWORD,
                              "PollInterval=%d\n" % self.POLL_INTERVAL)
        self.h.start()

    def deliver(self, n, prefix):
        ids = []
        for i in range(n):
            mid = "%s-%d@example.org" % (prefix, i)
            self.server.deliver(make_message(subject="%s %d" % (prefix, i), message_id=mid,
                                             to="alice@example.org"))
            ids.append(mid)
        return ids

    def ours(self):
        return self.h.read_maildir("in")

    def download(self, path=IN):
        # Long: the rest of a 2000-message download under ASan on a busy machine.
        return self.h.flush("/", DOWNLOAD, path=path, timeout=120)

    # A shared machine, class 6: a message over MaxMessageSize is left on the
    # server (counted in SkippedInbound, named in StatusString), the others
    # arrive, and what the daemon holds of it stays under MaxMessageSize
    def test_message_over_max_message_size_stays_on_the_server(self):
        with open(os.path.join(self.h.config_dir, "mailspool.conf"), "w") as f:
            f.write("[Spooler]\nMaxMessageSize=100000\n")
        self.h.restart_daemon()
        small = self.deliver(2, "small")
        self.server.deliver(make_message(subject="huge", message_id="huge@example.org",
                                         body=("x" * 76 + "\n") * 4000))
        for _ in range(2):  # and again: it is not taken later either
            summary = self.download()
            self.assertEqual(summary["received"], 2 if _ == 0 else 0, summary)
            self.assertEqual(summary["errors"], [], summary)
            self.assertEqual(self.h.get_property(IN, IFACE_TRANSPORT, "SkippedInbound"), 1)
            self.assertIn("MaxMessageSize", self.h.get_property(IN, IFACE_STATUS,
                                                                "StatusString"))
        self.assertEqual(message_ids(self.ours()), sorted(small))

    # docs/bus-api.md, FlushQueues: the download fetches what the server held; README:
    # exactly once, even across flushes
    def test_download_once_then_nothing_then_the_new_one(self):
        ids = self.deliver(12, "first")
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        summary = self.download()
        self.assertEqual(summary["received"], 12, summary)
        self.assertEqual(message_ids(self.ours()), sorted(ids))
        inbound = self.h.list_messages({"Direction": V("s", "inbound")})
        self.assertEqual(len(inbound), 12)
        self.assertEqual({r[1] for r in inbound}, {"received"})

        mon.sync()
        received = [signal_args(m) for m in mon.found(lambda m: m.get("path") == IN)]
        self.assertEqual(len(received), 12, "one MessageReceived per message")
        self.assertEqual({p for _, p in received}, set(self.h.maildir_files("in")))
        self.assertEqual({m for m, _ in received}, {r[0] for r in inbound})

        again = self.download()
        self.assertEqual(again["received"], 0, "a second flush fetches nothing new")
        self.assertEqual(len(self.ours()), 12)

        (late,) = self.deliver(1, "late")
        self.assertEqual(self.download()["received"], 1)
        self.assertEqual(message_ids(self.ours()), sorted(ids + [late]))

    # The seed's spooler flush: "/" with FLUSH_DOWNLOAD reaches this transport.
    def test_download_through_the_spooler(self):
        ids = self.deliver(3, "spool")
        summary = self.download(path=SPOOLER_PATH)
        self.assertEqual(summary["received"], 3, summary)
        self.assertEqual(message_ids(self.ours()), sorted(ids))

    # docs/bus-api.md, FlushQueues: the INBOUND_FLUSH bit while a download flush runs
    def test_inbound_flush_bit_rises_and_falls(self):
        self.deliver(5, "bits")
        mon = self.h.monitor("type='signal',member='PropertiesChanged'")
        self.download()
        mon.sync()
        codes = [signal_args(m)[1]["StatusCode"] for m in mon.found(lambda m: m.get("path") == IN)
                 if "StatusCode" in signal_args(m)[1]]
        self.assertTrue(any(c & STATUS_INBOUND_FLUSH for c in codes), codes)
        self.assertFalse(codes[-1] & STATUS_INBOUND_FLUSH, codes)

    def start_long_download(self, n=2000):
        self.deliver(n, "many")
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path", IN,
                "--method", IFACE_STATUS + ".FlushQueues", "--timeout", "300", "/",
                "uint32 %d" % DOWNLOAD]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.h.client_env)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        mon.wait_for(lambda m: True, timeout=30, what="the first MessageReceived")
        return proc, n

    # docs/bus-api.md, FlushQueues: Busy for a second download of the same transport
    def test_busy_during_download(self):
        proc, n = self.start_long_download()
        self.assertCallFails(ERR_BUSY, MAPI_E_BUSY, IN, IFACE_STATUS, "FlushQueues", "ou", "/",
                             DOWNLOAD)
        out, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(len(self.ours()), n)

    # README, "Delivery guarantees": a crash mid-download loses and doubles nothing
    def test_kill_mid_download_then_the_rest(self):
        proc, n = self.start_long_download()
        self.h.daemon.send_signal(signal.SIGKILL)
        self.h.daemon.wait(10)
        self.h.daemon = None
        proc.communicate(timeout=30)
        got_before = len(self.ours())
        self.assertLess(got_before, n, "the kill came mid-download")

        self.h.start_daemon()
        summary = self.download()
        # The message in transit at the kill may be in the Maildir without its
        # record: fetched again, into the same file (README, "Receiving mail").
        self.assertIn(summary["received"] + got_before, (n, n + 1), summary)
        ids = message_ids(self.ours())
        self.assertEqual(len(ids), n, "no message doubled in the Maildir")
        self.assertEqual(len(set(ids)), n)
        self.assertEqual(len(self.h.list_messages({"Direction": V("s", "inbound")})), n,
                         "each recorded once in the store")

    # docs/bus-api.md, Status.ValidateState: connect, log on, quit
    def test_validate_state(self):
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertFalse(self.h.get_property(IN, IFACE_STATUS, "StatusCode") & STATUS_FAILURE)

    # docs/bus-api.md, Errors: the server is down → NetworkError, STATUS_FAILURE and a
    # readable StatusString
    def test_server_down(self):
        self.deliver(1, "down")
        self.server.stop()
        port = getattr(self.server, self.URL).rsplit(":", 1)[1]
        err = self.assertCallFails(ERR_NETWORK_ERROR, MAPI_E_NETWORK_ERROR, IN, IFACE_STATUS,
                                   "FlushQueues", "ou", "/", DOWNLOAD)
        self.assertIn("127.0.0.1:" + port, err.message)
        self.assertTrue(self.h.get_property(IN, IFACE_STATUS, "StatusCode") & STATUS_FAILURE)
        text = self.h.get_property(IN, IFACE_STATUS, "StatusString")
        self.assertIn("Connection refused by 127.0.0.1:" + port, text)
        self.assertIn("127.0.0.1:" + port, self.h.get_property(IN, IFACE_TRANSPORT, "LastError"))
        self.assertCallFails(ERR_NETWORK_ERROR, MAPI_E_NETWORK_ERROR, IN, IFACE_STATUS,
                             "ValidateState", "u", 0)


class WrongPasswordMixin:
    PASSWORD = "wrong"

    # docs/bus-api.md, Errors: the server refused the credentials → LogonFailed
    def test_logon_failed(self):
        self.server.deliver(make_message(subject="locked"))
        err = self.assertCallFails(ERR_LOGON_FAILED, MAPI_E_LOGON_FAILED, IN, IFACE_STATUS,
                                   "FlushQueues", "ou", "/", DOWNLOAD)
        self.assertIn("127.0.0.1", err.message)
        self.assertCallFails(ERR_LOGON_FAILED, MAPI_E_LOGON_FAILED, IN, IFACE_STATUS,
                             "ValidateState", "u", 0)
        self.assertTrue(self.h.get_property(IN, IFACE_STATUS, "StatusCode") & STATUS_FAILURE)
        self.assertEqual(self.ours(), [])


class ImapTest(ReceiveMixin, DaemonTestCase):
    KIND = "imap"
    URL = "imap_url"

    # README, "Receiving mail": one connection is kept from one download to the next,
    # whose SELECT sees what came in between: two downloads, one logon at Dovecot
    def test_connection_kept_between_downloads(self):
        ids = self.deliver(1, "first")
        self.assertEqual(self.download()["received"], 1)
        ids += self.deliver(2, "second")
        self.assertEqual(self.download()["received"], 2)
        self.assertEqual(message_ids(self.ours()), sorted(ids))
        logons = self.server.log_text().count("Login: user=<%s>" % dovecot.USER)
        self.assertEqual(logons, 1, self.server.log_text())

    # A mailbox whose UID list is longer than libcurl's 16 KiB response line
    # (4000 UIDs: some 19 KB): every message still arrives, none twice.
    def test_large_mailbox_arrives_whole(self):
        ids = self.deliver(4000, "large")
        summary = self.download()
        self.assertEqual(summary["received"], 4000, summary)
        self.assertEqual(message_ids(self.ours()), sorted(ids))

    # README, "Receiving mail": many messages per UID FETCH, the answer read with
    # every literal counted. Messages that break a batch arrive whole and once,
    # byte for byte, between ordinary ones: one holding lines that end the command
    # for libcurl (every tag it may give our command in a session this short), one
    # with a line longer than libcurl's buffer, one larger than a batch.
    def test_messages_that_break_a_batch_arrive_whole(self):
        def blob(name, body):
            return (("From: a@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n"
                     "Message-ID: <%s@example.org>\r\n\r\n" % (name, name)).encode() + body)
        tags = b"".join(b"%c%03d OK Fetch completed.\r\n* 9 FETCH (UID 99 BODY[] {5}\r\n"
                        % (65 + c, n) for c in range(26) for n in range(1, 40))
        line = b"x" * 20000 + b"\r\n"
        large = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n" * 4000
        sent = []
        for name, body in (("before", b"one\r\n"), ("tags", tags), ("middle", b"two\r\n"),
                           ("long-line", line), ("large", large), ("after", b"three\r\n")):
            sent.append(blob(name, body))
            self.server.deliver(sent[-1])
        summary = self.download()
        self.assertEqual(summary["received"], len(sent), summary)
        self.assertEqual(sorted(self.ours()), sorted(sent))
        self.assertEqual(self.download()["received"], 0)


class Pop3Test(ReceiveMixin, DaemonTestCase):
    KIND = "pop3"
    URL = "pop3_url"


class ImapWrongPasswordTest(WrongPasswordMixin, ReceiveMixin, DaemonTestCase):
    KIND = "imap"
    URL = "imap_url"


class Pop3WrongPasswordTest(WrongPasswordMixin, ReceiveMixin, DaemonTestCase):
    KIND = "pop3"
    URL = "pop3_url"


class PollMixin:
    POLL_INTERVAL = 1

    # docs/bus-api.md, configuration: PollInterval downloads on a timer, no flush asked
    def test_poll_interval_downloads(self):
        mon = self.h.monitor("type='signal',member='MessageReceived'")
        ids = self.deliver(2, "polled")
        mon.wait_for(lambda m: len(mon.found(lambda x: x.get("path") == IN)) >= 2, timeout=20,
                     what="two MessageReceived from the poll timer")
        self.assertEqual(message_ids(self.ours()), sorted(ids))


class ImapPollTest(PollMixin, ReceiveMixin, DaemonTestCase):
    KIND = "imap"
    URL = "imap_url"


class Pop3PollTest(PollMixin, ReceiveMixin, DaemonTestCase):
    KIND = "pop3"
    URL = "pop3_url"


class SendAndReceiveTest(DaemonTestCase):
    """One account, two transports sharing an Identity: smtp out into smtp-sink,
    imap in from Dovecot."""

    START = False

    def setUp(self):
        if not dovecot.available() or not sink.available():
            self.skipTest("needs Dovecot (as root) and smtp-sink")
        self.server = dovecot.Dovecot()
        self.addCleanup(self.server.close)
        self.sink = sink.SmtpSink()
        self.addCleanup(self.sink.close)
        super().setUp()
        self.server.configure(self.h, "imap",
                              extra="PollInterval=0\nIdentity=alice@example.org\n")
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=on-demand\nIdentity=alice@example.org\n"
                                     % self.sink.url,
        }, clear=False)
        self.h.start()

    # docs/bus-api.md, FlushQueues: UPLOAD|DOWNLOAD in one call on the spooler runs both
    def test_upload_and_download_in_one_call(self):
        for i in range(2):
            self.h.submit_data(make_message(subject="out %d" % i))
        for i in range(3):
            self.server.deliver(make_message(subject="in %d" % i, to="alice@example.org"))
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_DOWNLOAD | FLUSH_NO_UI, timeout=60)
        self.assertEqual((summary["sent"], summary["received"]), (2, 3), summary)
        self.assertEqual(self.sink.count(), 2)
        self.assertEqual(len(self.h.read_maildir("in")), 3)
        for path in (IN, transport_path("out")):
            self.assertEqual(self.h.get_property(path, IFACE_STATUS, "IdentityDisplay"),
                             "alice@example.org")


# The wrong-password and poll classes run only their own test.
for cls in (ImapWrongPasswordTest, Pop3WrongPasswordTest, ImapPollTest, Pop3PollTest):
    for name in [n for n in dir(ReceiveMixin) if n.startswith("test_")]:
        setattr(cls, name, None)

if __name__ == "__main__":
    harness.main()
