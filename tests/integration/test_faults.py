#!/usr/bin/env python3
"""Fault injection against the smtp transport on loopback: what a server's
misbehaviour means for a message (README.md, "Sending with SMTP", the table of
replies; docs/bus-api.md, org.mailspool.Spool1.Message and Status.FlushQueues).

Faults that Postfix's smtp-sink can play are played by it (sink.py): a 421
greeting (-r CONNECT with a 421 soft-bounce text), a slow DATA (-w). Faults it
cannot play are played by FakeSmtp below, a small scripted SMTP server of this
file (threads, standard library only): a 421 greeting followed by a hang-up, a
connection reset (TCP RST) in the middle of the message body, and a different
reply to each recipient (452 / 552 / 250), which smtp-sink cannot give because
its -r / -f options refuse every RCPT alike.

test_smtp_flush.py already covers a 450 to every RCPT, a hang-up right after
DATA, a 500 to every RCPT and StatusCode reads on the transport during a slow
transport-level flush; these tests do not repeat them."""

import os
import re
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_STATUS, IFACE_TRANSPORT,
    SPOOLER_PATH, STATUS_FAILURE, STATUS_OUTBOUND_ACTIVE, STATUS_OUTBOUND_FLUSH, DaemonTestCase,
    V, make_message, now_us, signal_args, transport_path)

OUT = transport_path("out")
RETRY_FIRST_US = 60 * 1_000_000  # README: "retried after 1 min"
SLACK_US = 5 * 1_000_000
FAKE_TIMEOUT = 10.0  # bound of every socket wait of FakeSmtp


def smtp_config(url, extra=""):
    return {"transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                                     "SendMode=on-demand\n%s" % (url, extra)}


def message_ids(raw_messages):
    """The Message-ID of each message (bytes, as the server received them)."""
    out = []
    for raw in raw_messages:
        head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode(errors="replace")
        m = re.search(r"(?im)^message-id:\s*<([^>]*)>", head)
        out.append(m.group(1) if m else None)
    return out


class FakeSmtp:
    """A scripted SMTP server on 127.0.0.1.

    greeting      the first line sent; a 4xx/5xx greeting is followed by a
                  hang-up, as RFC 5321 3.8 / 4.2.1 ask of a server that
                  refuses service.
    rcpt_reply    address -> reply line for RCPT TO (default "250 2.1.5 Ok");
                  may be changed while running (set_rcpt_reply).
    reset_after   when set, the server reads that many bytes of the message
                  body after its 354 and then resets the connection (SO_LINGER
                  0: the peer gets a TCP RST, not a FIN).
    auth          the SASL mechanisms to offer ("PLAIN", "PLAIN LOGIN"; and no
                  STARTTLS); any AUTH is taken and recorded in auths, with what
                  the client sent after each 334.
    drop_after_dot
                  when set, the server reads the whole message and its final
                  ".", records the transaction (the message arrived), and resets
                  the connection instead of replying: the sender cannot know.
    extensions    more EHLO keywords to offer (e.g. ["SMTPUTF8"]); PIPELINING
                  is never offered: each command waits for its reply.

    Records every connection, every MAIL command as sent (mails; and in its
    transaction), every RCPT and its reply, every completed
    transaction (envelope and message) and every reset. close() frees the
    port so that another server (smtp-sink) can take it."""

    def __init__(self, port=0, greeting="220 fake.example ESMTP", rcpt_reply=None,
                 reset_after=None, auth=False, drop_after_dot=False, extensions=()):
        self.greeting = greeting
        self.extensions = list(extensions)
        self.mails = []
        self.drop_after_dot = drop_after_dot
        self.auth = auth
        self.auths = []
        self._rcpt_reply = rcpt_reply or (lambda address: "250 2.1.5 Ok")
        self.reset_after = reset_after
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.connections = 0
        self.rcpts = []          # (address, reply line)
        self.transactions = []   # {"mail_from", "rcpt_to", "data"}
        self.resets = 0
        self.body_bytes_before_reset = []
        self.errors = []
        self.closing = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.listener.settimeout(0.2)  # the accept loop's chance to see closing
        self.port = self.listener.getsockname()[1]
        self.threads = []
        self.conns = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def set_rcpt_reply(self, fn):
        with self.lock:
            self._rcpt_reply = fn

    def _accept_loop(self):
        while not self.closing:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.connections += 1
                self.conns.append(conn)
                self.cond.notify_all()
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        conn.settimeout(FAKE_TIMEOUT)
        f = conn.makefile("rb")
        try:
            self._session(conn, f)
        except (OSError, ValueError) as e:
            if not self.closing:
                with self.cond:
                    self.errors.append(repr(e))
                    self.cond.notify_all()
        finally:
            f.close()
            try:
                conn.close()
            except OSError:
                pass

    def _session(self, conn, f):
        def reply(line):
            # A lone surrogate ("\udcff") stands for a raw byte (0xff): what
            # a server may send that is not UTF-8.
            conn.sendall(line.encode("utf-8", "surrogateescape") + b"\r\n")

        reply(self.greeting)
        if not self.greeting.startswith("2"):
            return  # refused service: hang up
        mail_from, rcpt_to, mail = None, [], None
        while True:
            line = f.readline(4096)
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                reply("250-fake.example\r\n250-8BITMIME\r\n%s%s250 SIZE 104857600"
                      % ("250-AUTH %s\r\n" % self.auth if self.auth else "",
                         "".join("250-%s\r\n" % e for e in self.extensions))
                      if verb == "EHLO" else "250 fake.example")
            elif verb == "AUTH" and self.auth:
                # Ask for what the AUTH line did not carry (LOGIN: the name,
                # then the password; PLAIN: the one response).
                prompts = (["VXNlcm5hbWU6", "UGFzc3dvcmQ6"] if cmd.split()[1:2] == ["LOGIN"]
                           else [""])
                for prompt in prompts[len(cmd.split()) - 2:]:
                    reply("334 " + prompt)
                    cmd += " " + f.readline(4096).decode(errors="replace").strip()
                with self.cond:
                    self.auths.append(cmd)
                    self.cond.notify_all()
                reply("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                with self.lock:
                    self.mails.append(cmd)
                mail = cmd
                mail_from = re.sub(r"(?i)^MAIL FROM:\s*<([^>]*)>.*$", r"\1", cmd)
                rcpt_to = []
                reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                address = re.sub(r"(?i)^RCPT TO:\s*<([^>]*)>.*$", r"\1", cmd)
                with self.lock:
                    answer = self._rcpt_reply(address)
                with self.cond:
                    self.rcpts.append((address, answer))
                    self.cond.notify_all()
                if answer.startswith("2"):
                    rcpt_to.append(address)
                reply(answer)
            elif verb == "DATA":
                if not rcpt_to:
                    reply("554 5.5.1 Error: no valid recipients")
                    continue
                reply("354 End data with <CR><LF>.<CR><LF>")
                if self.reset_after is not None:
                    self._reset(conn, f)
                    return
                data = self._read_data(f)
                with self.cond:
                    self.transactions.append({"mail_from": mail_from, "rcpt_to": list(rcpt_to),
                                              "data": data, "mail": mail})
                    n = len(self.transactions)
                    self.cond.notify_all()
                if self.drop_after_dot:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                reply("250 2.0.0 Ok: queued as FAKE%d" % n)
                mail_from, rcpt_to = None, []
            elif verb == "RSET":
                mail_from, rcpt_to = None, []
                reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                reply("221 2.0.0 Bye")
                return
            else:
                reply("502 5.5.2 Error: command not recognized")

    @staticmethod
    def _read_data(f):
        lines = []
        while True:
            line = f.readline(1 << 20)
            if not line:
                raise OSError("connection closed inside DATA")
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)

    def _reset(self, conn, f):
        got = 0
        while got < self.reset_after:
            chunk = f.read1(self.reset_after - got)
            if not chunk:
                break
            got += len(chunk)
        # SO_LINGER with a zero timeout: close() sends RST and drops what
        # is buffered, like a server process that crashed.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self.cond:
            self.resets += 1
            self.body_bytes_before_reset.append(got)
            self.cond.notify_all()

    def wait(self, what, predicate, timeout=FAKE_TIMEOUT):
        """Wait (bounded) until predicate(self) holds, under the lock."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake SMTP server: no %s within %ss" % (what, timeout))
                self.cond.wait(left)

    def close(self):
        self.closing = True
        try:
            self.listener.close()
        except OSError:
            pass
        self.thread.join(5)
        # Wake the sessions still waiting for a command (a client keeps its
        # connection open between messages).
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(FAKE_TIMEOUT + 1)


class FaultTestCase(DaemonTestCase):
    """The daemon with one on-demand smtp transport "out" pointing at the
    server of server_url() (set up by the subclass's make_server)."""

    START = False
    EXTRA = ""

    def setUp(self):
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        super().setUp()
        self.sink = None
        self.fake = None
        self.make_server()
        self.h.write_config(smtp_config(self.server_url(), self.EXTRA))
        self.h.start()

    def make_server(self):
        raise NotImplementedError

    def server_url(self):
        return (self.fake or self.sink).url

    def use_fake(self, **kw):
        self.fake = FakeSmtp(**kw)
        self.addCleanup(self.fake.close)
        return self.fake

    def use_sink(self, options=(), port=None):
        self.sink = sink.SmtpSink(options, port=port)
        self.addCleanup(self.sink.close)
        return self.sink

    def replace_fake_with_sink(self):
        """The faulty server goes; a good smtp-sink takes its port (the
        transport's Server stays the same)."""
        port = self.fake.port
        self.fake.close()
        return self.use_sink((), port=port)

    def submit(self, subject, **kw):
        return self.h.submit_data(make_message(subject=subject, **kw))

    def props(self, path):
        return self.h.message_props(path)

    def assert_deferred_with_retry(self, path, before_us, after_us, error_has):
        """README, "Sending with SMTP": deferred (not failed), retried after
        1 min (NextAttempt), the reason readable in LastError."""
        p = self.props(path)
        self.assertEqual(p["State"], "deferred", p)
        self.assertEqual(p["Attempts"], 1, p)
        self.assertGreaterEqual(p["NextAttempt"], before_us + RETRY_FIRST_US - SLACK_US, p)
        self.assertLessEqual(p["NextAttempt"], after_us + RETRY_FIRST_US + SLACK_US, p)
        self.assertIn(error_has, p["LastError"])
        return p

    def assert_no_report(self):
        self.assertEqual(self.h.list_messages({"Direction": V("s", "inbound")}), [],
                         "a deferred message has no non-delivery report")


# --- 421 on connect -----------------------------------------------------------------

class Greeting421SinkTest(FaultTestCase):
    """smtp-sink answers the connection with 421 (-r CONNECT, the soft-bounce
    reply set to a 421): every message meets a refusing server."""

    def make_server(self):
        self.use_sink(("-r", "CONNECT", "-b", "421 4.3.2 Service not available, closing channel"))

    # README, "Sending with SMTP": 4xx -> deferred, retried after 1 min
    # (NextAttempt, the transport's NextRetry), and by any flush; docs/bus-api.md,
    # FlushQueues: per-message outcomes never fail the call
    def test_421_greeting_defers_then_sends(self):
        ids = ["greet421-%d@example.org" % i for i in range(3)]
        paths = [self.submit("greeting %d" % i, message_id=ids[i]) for i in range(3)]
        before = now_us()
        summary = self.h.flush()
        after = now_us()
        self.assertEqual((summary["sent"], summary["deferred"], summary["failed"]), (0, 3, 0),
                         summary)
        for p in paths:
            self.assert_deferred_with_retry(p, before, after, "421")
        self.assertEqual(self.sink.count(), 0, "no transaction with a refusing server")
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "QueuedOutbound"), 3,
                         "deferred messages are still waiting")
        next_retry = self.h.get_property(OUT, IFACE_TRANSPORT, "NextRetry")
        self.assertGreaterEqual(next_retry, before + RETRY_FIRST_US - SLACK_US)
        self.assert_no_report()

        self.sink.restart(())  # the server is good again, same port
        summary = self.h.flush()
        self.assertEqual((summary["sent"], summary["deferred"], summary["failed"]), (3, 0, 0),
                         summary)
        for p in paths:
            q = self.props(p)
            self.assertEqual((q["State"], q["Attempts"], q["NextAttempt"]), ("sent", 2, 0), q)
        got = message_ids(m["raw"] for m in self.sink.messages())
        self.assertEqual(sorted(got), sorted(ids), "each message arrived exactly once")
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "NextRetry"), 0)
        self.assertEqual(self.h.get_property(OUT, IFACE_TRANSPORT, "QueuedOutbound"), 0)


class Greeting421HangUpTest(FaultTestCase):
    """A server that says 421 and closes the connection at once (what a real
    MTA does when it refuses service; smtp-sink keeps the line open)."""

    def make_server(self):
        self.use_fake(greeting="421 4.7.0 fake.example Too many connections, try again later")

    # README, "Sending with SMTP": 4xx -> deferred; a reachable server that
    # refuses service is not "could not connect": no NetworkError, no failure
    def test_421_and_hang_up_defers_then_sends(self):
        path = self.submit("hang up", message_id="hangup421@example.org")
        before = now_us()
        summary = self.h.flush()
        after = now_us()
        self.assertEqual((summary["sent"], summary["deferred"], summary["failed"]), (0, 1, 0),
                         summary)
        self.assertGreaterEqual(self.fake.connections, 1, "the daemon did reach the server")
        self.assertEqual(self.fake.rcpts, [], "no envelope was sent after the 421")
        self.assert_deferred_with_retry(path, before, after, "421")
        self.assert_no_report()

        good = self.replace_fake_with_sink()
        self.assertEqual(self.h.flush()["sent"], 1)
        self.assertEqual(self.props(path)["State"], "sent")
        self.assertEqual(message_ids(m["raw"] for m in good.messages()),
                         ["hangup421@example.org"])


# --- connection reset in the middle of DATA ---------------------------------------------

class ResetMidDataTest(FaultTestCase):
    """The server takes the envelope, says 354, reads 16 KiB of a 2 MiB
    message and resets the connection (RST). test_smtp_flush.py's
    DroppedConnectionTest hangs up politely right after the DATA command;
    here the client is in the middle of writing the body."""

    BODY_LINES = 32768  # lines of 64 bytes: 2 MiB, more than the socket buffers hold
    RESET_AFTER = 16384

    def make_server(self):
        self.use_fake(reset_after=self.RESET_AFTER)

    def submit_big(self, subject, message_id):
        """Spooler.Submit with a descriptor (a message this size does not fit
        on busctl's command line)."""
        self.need_gdbus()
        body = "".join("line %05d %s\n" % (i, "x" * 52) for i in range(self.BODY_LINES))
        name = os.path.join(self.h.dir, "big.eml")
        with open(name, "wb") as f:
            f.write(make_message(subject=subject, message_id=message_id, body=body))
        fd = os.open(name, os.O_RDONLY)
        try:
            return self.h.submit_fd(fd)
        finally:
            os.close(fd)

    # README, "Sending with SMTP": "the connection lost mid-conversation" ->
    # deferred, retried; then delivered exactly once (README, "Delivery
    # guarantees": a message is sent at least once, and the store records
    # "sent" so that no later flush sends it again)
    def test_reset_mid_data_defers_then_delivers_once(self):
        path = self.submit_big("reset", "reset-mid-data@example.org")
        before = now_us()
        summary = self.h.flush()
        after = now_us()
        self.assertEqual(self.fake.resets, 1, "the server reset the connection once")
        self.assertGreater(self.fake.body_bytes_before_reset[0], 0,
                           "the reset came in the middle of the body")
        self.assertEqual(self.fake.transactions, [], "the server completed no transaction")
        self.assertEqual((summary["sent"], summary["deferred"], summary["failed"]), (0, 1, 0),
                         summary)
        p = self.assert_deferred_with_retry(path, before, after, self.fake_address())
        self.assertNotEqual(p["State"], "sent", "a reset transaction is not a delivery")
        self.assert_no_report()
        self.assertFalse(self.h.get_property(OUT, IFACE_STATUS, "StatusCode") & STATUS_FAILURE,
                         "the server was reachable: the transport itself has not failed")

        good = self.replace_fake_with_sink()
        summary = self.h.flush()
        self.assertEqual((summary["sent"], summary["deferred"], summary["failed"]), (1, 0, 0),
                         summary)
        self.assertEqual(self.props(path)["State"], "sent")
        (got,) = good.messages()
        self.assertEqual(message_ids([got["raw"]]), ["reset-mid-data@example.org"])
        self.assertIn(b"line %05d" % (self.BODY_LINES - 1), got["raw"], "the whole body arrived")
        # Exactly once: another flush has nothing to send.
        self.assertEqual(self.h.flush()["sent"], 0)
        self.assertEqual(good.count(), 1)

    def fake_address(self):
        return "127.0.0.1:%d" % self.fake.port


# --- a slow server -------------------------------------------------------------------

class SlowServerSpoolerTest(FaultTestCase):
    """smtp-sink waits 2 s before answering DATA, one connection, three
    messages: a spooler-level flush of about six seconds."""

    EXTRA = "MaxConnections=1\n"
    N = 3
    BOUND = 1.0  # seconds for a property read, busctl's own start-up included

    def make_server(self):
        self.use_sink(("-w", "2"))

    # docs/bus-api.md, FlushQueues: "The event loop never blocks either way"; the
    # spooler's StatusCode carries STATUS_OUTBOUND_FLUSH while a spooler-level
    # flush runs; the flush still ends with every message sent
    def test_spooler_status_read_is_prompt_during_slow_flush(self):
        for i in range(self.N):
            self.submit("slow %d" % i)
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path",
                SPOOLER_PATH, "--method", IFACE_STATUS + ".FlushQueues", "--timeout", "120",
                "/", "uint32 %d" % (FLUSH_UPLOAD | FLUSH_NO_UI)]
        self.need_gdbus()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.h.client_env)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # A message is in transit: the server is sitting on its DATA.
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: c & STATUS_OUTBOUND_ACTIVE, timeout=30)
        timings = []
        while proc.poll() is None and len(timings) < 40:
            t0 = time.monotonic()
            code = self.h.get_property(SPOOLER_PATH, IFACE_STATUS, "StatusCode")
            took = time.monotonic() - t0
            if proc.poll() is not None:
                break  # the flush ended during this read: its bits may have fallen
            timings.append(took)
            self.assertTrue(code & STATUS_OUTBOUND_FLUSH,
                            "the spooler shows its flush while it runs (0x%x)" % code)
        self.assertGreaterEqual(len(timings), 3, "reads were made during the flush")
        self.assertLess(max(timings), self.BOUND,
                        "slowest StatusCode read during the flush: %.3f s (all: %s)"
                        % (max(timings), ["%.3f" % t for t in timings]))
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err.decode(errors="replace"))
        self.assertIn("'sent': <uint32 %d>" % self.N, out.decode())
        self.assertEqual(self.sink.count(), self.N)
        self.assertFalse(self.h.get_property(SPOOLER_PATH, IFACE_STATUS, "StatusCode")
                         & STATUS_OUTBOUND_FLUSH, "the bit falls when the flush ends")


# --- per-recipient replies -----------------------------------------------------------

def replies(table, default="250 2.1.5 Ok"):
    return lambda address: table.get(address, default)


OK = "ok@example.org"
SOFT = "full@example.org"
HARD = "gone@example.org"
SOFT_REPLY = "452 4.2.2 <full@example.org>: Recipient address rejected: Mailbox full"
HARD_REPLY = "552 5.2.2 <gone@example.org>: Recipient address rejected: Mailbox quota exceeded"


class PerRecipientTest(FaultTestCase):
    """FakeSmtp answers each RCPT TO after its address."""

    def make_server(self):
        self.use_fake(rcpt_reply=replies({SOFT: SOFT_REPLY, HARD: HARD_REPLY}))

    def tearDown(self):
        self.assertEqual(self.fake.errors, [], "the fake server saw no broken conversation")

    def inbound(self):
        return self.h.list_messages({"Direction": V("s", "inbound")})

    def read_report(self, row):
        props = self.h.message_props(row[0])
        self.assertEqual(props["Direction"], "inbound")
        self.assertEqual(props["State"], "received")
        with open(props["Path"], "rb") as f:
            return f.read().decode(errors="replace")

    # README, "Sending with SMTP": 4xx -> deferred; the recipient the server
    # took has the message (sent once), the refused one stays queued and is
    # retried alone (NextAttempt set, no report)
    def test_452_for_one_recipient_defers_only_that_one(self):
        path = self.submit("soft one", to=OK, cc=SOFT, message_id="soft-one@example.org")
        mon = self.h.monitor("type='signal',member='PropertiesChanged',path='%s'" % path)
        before = now_us()
        summary = self.h.flush()
        after = now_us()
        # The server took the message for OK.
        (first,) = self.fake.transactions
        self.assertEqual(first["rcpt_to"], [OK])
        self.assertEqual(sorted(a for a, _ in self.fake.rcpts), sorted([OK, SOFT]))
        # The message is waiting for SOFT alone.
        self.assertEqual((summary["failed"], summary["deferred"]), (0, 1), summary)
        p = self.assert_deferred_with_retry(path, before, after, "452")
        self.assertEqual(p["Recipients"], [SOFT], "only the refused recipient is left to try")
        # interfaces/org.mailspool.Spool1.Message.xml: the narrowing is announced
        mon.sync()
        changed = [signal_args(m)[1] for m in mon.found(lambda m: True)]
        self.assertIn([SOFT], [c["Recipients"] for c in changed if "Recipients" in c], changed)
        (row,) = self.h.list_messages({"Direction": V("s", "outbound")})
        self.assertEqual((row[0], row[1]), (path, "deferred"), "ListMessages agrees")
        self.assert_no_report()

        self.fake.set_rcpt_reply(replies({}))  # the mailbox has room again
        self.fake.rcpts.clear()
        summary = self.h.flush()
        self.assertEqual(summary["sent"], 1, summary)
        q = self.props(path)
        self.assertEqual((q["State"], q["Attempts"], q["NextAttempt"]), ("sent", 2, 0), q)
        self.assertEqual(len(self.fake.transactions), 2)
        self.assertEqual(self.fake.transactions[1]["rcpt_to"], [SOFT],
                         "the retry goes to the deferred recipient only: OK gets no second copy")
        self.assertEqual([a for a, _ in self.fake.rcpts], [SOFT])
        self.assertEqual(self.inbound(), [])

    # README, "Sending with SMTP": 5xx -> failed, with a non-delivery report
    # (RFC 3464) in the inbound store; per recipient: the accepted one has the
    # message and the report names only the refused one
    def test_552_for_one_recipient_fails_it_with_a_report(self):
        path = self.submit("hard one", to=OK, cc=HARD, message_id="hard-one@example.org")
        summary = self.h.flush()
        (first,) = self.fake.transactions
        self.assertEqual(first["rcpt_to"], [OK])
        self.assertEqual(summary["deferred"], 0, summary)
        p = self.props(path)
        self.assertEqual(p["State"], "sent", "delivered to the recipient the server took: %r" % p)
        self.assertEqual(p["NextAttempt"], 0, "nothing is left to retry")

        (row,) = self.inbound()
        report = self.read_report(row)
        self.assertRegex(report, r"(?i)content-type: multipart/report;[^\n]*(\n\s[^\n]*)*"
                                 r"report-type=delivery-status")
        self.assertIn("Final-Recipient: rfc822; %s" % HARD, report)
        self.assertIn("Action: failed", report)
        self.assertIn("552", report, "the server's reply is the diagnostic")
        self.assertNotIn("Final-Recipient: rfc822; %s" % OK, report,
                         "the recipient who got the message is not reported as failed")
        self.assertIn("Subject: hard one", report)

        # Nothing is retried: a later flush sends nothing, to nobody.
        self.assertEqual(self.h.flush()["sent"], 0)
        self.assertEqual(len(self.fake.transactions), 1)
        self.assertEqual(len(self.inbound()), 1, "one report, not one per flush")

    # Both at once, three recipients: 250, 452, 552 (README table, per
    # recipient): one report for the 552, a retry for the 452 alone, and the
    # 250 recipient never gets a second copy
    def test_mixed_replies_each_recipient_its_own_fate(self):
        path = self.submit("mixed", to=OK, cc=SOFT, bcc=HARD, message_id="mixed@example.org")
        before = now_us()
        self.h.flush()
        after = now_us()
        self.assertEqual([t["rcpt_to"] for t in self.fake.transactions], [[OK]])
        p = self.assert_deferred_with_retry(path, before, after, "452")
        self.assertEqual(p["Recipients"], [SOFT])
        (row,) = self.inbound()
        report = self.read_report(row)
        self.assertIn("Final-Recipient: rfc822; %s" % HARD, report)
        self.assertNotIn("Final-Recipient: rfc822; %s" % SOFT, report,
                         "a deferred recipient is not reported as failed")

        self.fake.set_rcpt_reply(replies({HARD: HARD_REPLY}))
        self.assertEqual(self.h.flush()["sent"], 1)
        self.assertEqual(self.props(path)["State"], "sent")
        self.assertEqual([t["rcpt_to"] for t in self.fake.transactions], [[OK], [SOFT]])
        self.assertEqual(len(self.inbound()), 1, "the refused recipient is reported once")


    # No report is lost (a shared machine, class 6): one recipient refused for
    # good and another given up on in the same attempt (the message outlived
    # the queue lifetime of 5 days) are two reports, two files, two records
    def test_refused_and_expired_in_one_attempt_are_two_reports(self):
        path = self.submit("old one", to=HARD, cc=SOFT, message_id="old-one@example.org")
        self.h.stop_daemon()
        with sqlite3.connect(os.path.join(self.h.state_dir, "spool.db")) as db:
            db.execute("UPDATE messages SET submitted = submitted - ?", (6 * 86400 * 10**6,))
        db.close()
        self.h.start_daemon()
        self.h.flush()
        self.assertEqual(self.props(path)["State"], "failed")
        rows = self.inbound()
        self.assertEqual(len(rows), 2, rows)
        files = {self.h.message_props(r[0])["Path"] for r in rows}
        self.assertEqual(len(files), 2, "each report has its own file: %r" % files)
        reports = [self.read_report(r) for r in rows]
        for who in (HARD, SOFT):
            self.assertEqual(sum("Final-Recipient: rfc822; %s" % who in r for r in reports), 1,
                             "one report names %s" % who)



# --- what MAIL FROM carries ---------------------------------------------------------------

class MailParametersTest(FaultTestCase):
    """README, "Sending with SMTP": MAIL FROM carries SIZE= where the server offers
    SIZE, BODY=8BITMIME for an 8-bit message where it offers 8BITMIME, SMTPUTF8 for
    an address or header in UTF-8 where it offers SMTPUTF8. The scripted server
    offers all three and no PIPELINING: each command waits for its reply."""

    def make_server(self):
        self.use_fake(extensions=["SMTPUTF8"])

    def test_parameters_follow_the_message(self):
        plain = make_message(subject="plain", message_id="plain@example.org")
        eight = make_message(subject="eight", body="Gr\u00fc\u00dfe aus K\u00f6ln\n",
                             message_id="eight@example.org")
        utf8 = make_message(subject="utf8", to="j\u00f6rg@example.org",
                            message_id="utf8@example.org")
        for m in (plain, eight, utf8):
            self.h.submit_data(m)
        summary = self.h.flush()
        self.assertEqual(summary["sent"], 3, summary)
        mails = {}
        for t in self.fake.transactions:
            ident = re.search(rb"Message-ID: <([^@]*)@", t["data"]).group(1).decode()
            mails[ident] = t["mail"].split()[2:]
        for ident, m in ((i, d) for i, d in mails.items()):
            self.assertRegex(m[0], r"^SIZE=[1-9][0-9]*$", ident)
        self.assertEqual(mails["plain"][1:], [])
        self.assertEqual(mails["eight"][1:], ["BODY=8BITMIME"])
        # A UTF-8 header is 8-bit too.
        self.assertEqual(mails["utf8"][1:], ["BODY=8BITMIME", "SMTPUTF8"])
        self.assertEqual(sorted(t["rcpt_to"][0] for t in self.fake.transactions),
                         ["bob@example.org", "bob@example.org", "j\u00f6rg@example.org"])


if __name__ == "__main__":
    harness.main()
