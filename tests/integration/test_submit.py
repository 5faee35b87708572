#!/usr/bin/env python3
"""Spooler.SubmitData / Spooler.Submit, the Message objects they create,
ListMessages, Message.Abort, and the refusal of bad input."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    ERR_INVALID_ARGS, ERR_NOT_FOUND, ERR_NOT_QUEUED, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE,
    IFACE_SPOOLER, IFACE_TRANSPORT, MAPI_E_UNABLE_TO_ABORT, MESSAGE_PREFIX, SPOOLER_PATH,
    DaemonTestCase, V, is_properties_changed, make_message, now_us, signal_args, transport_path)

LOCAL = transport_path("local")
MAILDIR = "[Transport]\nKind=maildir\n"


def normalized(data):
    return data.replace(b"\r\n", b"\n")


def header_names(data):
    head = normalized(data).split(b"\n\n", 1)[0]
    return [line.split(b":", 1)[0].strip().lower() for line in head.split(b"\n")
            if line and not line[:1].isspace() and b":" in line]


class SubmitTest(DaemonTestCase):
    """The built-in default: transport 'local', SendMode immediate."""

    def wait_state(self, path, state):
        return self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == state)

    def count(self):
        return len(self.h.list_messages())

    # docs/bus-api.md: Spooler.SubmitData; the maildir kind delivers into Maildir/new
    def test_submit_data_is_delivered(self):
        raw = make_message(subject="Delivered by SubmitData", body="line one\nline two\n")
        path = self.h.submit_data(raw)
        self.assertRegex(path, "^" + re.escape(MESSAGE_PREFIX) + r"[0-9]+$")
        self.wait_state(path, "sent")
        files = self.h.read_maildir("local", "new")
        self.assertEqual(len(files), 1, "one copy per message in Maildir/new")
        self.assertEqual(self.h.maildir_files("local", "tmp"), [], "nothing left in Maildir/tmp")
        got = normalized(files[0])
        self.assertIn(b"Subject: Delivered by SubmitData", got)
        self.assertTrue(got.endswith(b"\n\nline one\nline two\n"), got)
        self.assertEqual(self.h.get_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound"), 0)

    # docs/bus-api.md, Spooler.Submit: a local submission without From, Date or Message-ID
    # gets them (MailDomain, the owner's login name), as Postfix gives them
    def test_missing_fields_are_added(self):
        import email.utils
        import pwd
        raw = b"To: bob@example.org\nSubject: bare\n\nno From, no Date, no Message-ID\n"
        path = self.h.submit_data(raw)
        self.wait_state(path, "sent")
        (got,) = self.h.read_maildir("local", "new")
        msg = email.message_from_bytes(got)
        login = pwd.getpwuid(os.getuid()).pw_name
        self.assertEqual(msg["From"], "<%s@%s>" % (login, self.domain()))
        self.assertIsNotNone(email.utils.parsedate_to_datetime(msg["Date"]))
        self.assertRegex(msg["Message-ID"], r"^<[0-9a-f.]+@%s>$" % re.escape(self.domain()))
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "Sender"),
                         "%s@%s" % (login, self.domain()))
        # What a message has is kept as it is.
        full = make_message(subject="complete")
        path = self.h.submit_data(full)
        self.wait_state(path, "sent")
        sent = email.message_from_bytes(full)
        (kept,) = [m for m in map(email.message_from_bytes, self.h.read_maildir("local", "new"))
                   if m["Subject"] == "complete"]
        for field in ("From", "Date", "Message-ID"):
            self.assertEqual(kept.get_all(field), sent.get_all(field), field)

    def domain(self):
        """The machine's mail domain as the daemon finds it (no MailDomain set)."""
        import socket
        try:
            with open("/etc/mailname") as f:
                name = f.readline().strip()
            if name:
                return name
        except OSError:
            pass
        host = socket.gethostname()
        if "." not in host:
            try:
                canon = socket.getaddrinfo(host, None, flags=socket.AI_CANONNAME)[0][3]
                if "." in canon:
                    host = canon
            except OSError:
                pass
        return host

    # docs/bus-api.md: org.mailspool.Spool1.Message properties
    def test_message_properties(self):
        raw = make_message(subject="Properties", to="bob@example.org", cc="carol@example.org",
                           message_id="props-1@example.org")
        t0 = now_us()
        path = self.h.submit_data(raw)
        t1 = now_us()
        self.wait_state(path, "sent")
        p = self.h.message_props(path)
        self.assertEqual(p["Id"], int(path[len(MESSAGE_PREFIX):]))
        self.assertEqual(p["Direction"], "outbound")
        self.assertEqual(p["State"], "sent")
        self.assertEqual(p["Transport"], LOCAL)
        self.assertEqual(p["Sender"], "alice@example.org", "envelope sender from From")
        self.assertEqual(sorted(p["Recipients"]), ["bob@example.org", "carol@example.org"])
        self.assertEqual(p["Subject"], "Properties")
        self.assertIn("props-1@example.org", p["MessageID"])
        self.assertLessEqual(p["Size"], len(raw))
        self.assertGreaterEqual(p["Size"], len(normalized(raw)))
        self.assertTrue(t0 - 1_000_000 <= p["Submitted"] <= t1 + 1_000_000,
                        "Submitted %d not within the call (%d..%d µs)" % (p["Submitted"], t0, t1))
        self.assertEqual(p["Attempts"], 1)
        self.assertEqual(p["NextAttempt"], 0)
        self.assertEqual(p["LastError"], "")
        self.assertEqual(p["Owner"], os.getuid())

    # docs/bus-api.md: Spooler.ListMessages -> a(osssuut)
    def test_list_messages_rows(self):
        raw1 = make_message(subject="first")
        raw2 = make_message(subject="second")
        p1 = self.h.submit_data(raw1)
        p2 = self.h.submit_data(raw2, {"OnDemand": V("b", True)})
        self.wait_state(p1, "sent")
        rows = {r[0]: r for r in self.h.list_messages()}
        self.assertEqual(set(rows), {p1, p2})
        path, state, transport, subject, size, attempts, submitted = rows[p1]
        self.assertEqual((state, transport, subject, attempts), ("sent", "local", "first", 1))
        props = self.h.message_props(p1)
        self.assertEqual(size, props["Size"])
        self.assertEqual(submitted, props["Submitted"])
        size2 = self.h.get_property(p2, IFACE_MESSAGE, "Size")
        self.assertEqual(rows[p2][1:5], ("queued", "local", "second", size2))
        self.assertEqual(rows[p2][5], 0, "a held message has had no attempt")
        # Filters (docs/bus-api.md: State s, Transport o, Direction s).
        self.assertEqual([r[0] for r in self.h.list_messages({"State": V("s", "queued")})], [p2])
        self.assertEqual([r[0] for r in self.h.list_messages({"State": V("s", "sent")})], [p1])
        self.assertEqual({r[0] for r in self.h.list_messages({"Transport": V("o", LOCAL)})},
                         {p1, p2})
        self.assertEqual({r[0] for r in self.h.list_messages({"Direction": V("s", "outbound")})},
                         {p1, p2})
        self.assertEqual(self.h.list_messages({"Direction": V("s", "inbound")}), [])

    # docs/bus-api.md: Recipients default To, Cc and Bcc; Bcc is removed from what is sent
    def test_bcc_stripped_but_in_envelope(self):
        raw = make_message(subject="Blind", to="bob@example.org", bcc="dave@example.org")
        self.assertIn(b"Bcc: <dave@example.org>", raw)
        path = self.h.submit_data(raw)
        self.wait_state(path, "sent")
        (delivered,) = self.h.read_maildir("local", "new")
        self.assertNotIn(b"bcc", header_names(delivered), delivered)
        self.assertNotIn(b"dave@example.org", delivered)
        self.assertIn(b"Subject: Blind", delivered)
        self.assertEqual(sorted(self.h.get_property(path, IFACE_MESSAGE, "Recipients")),
                         ["bob@example.org", "dave@example.org"])

    # docs/bus-api.md: options Sender s, Recipients as (envelope)
    def test_envelope_options(self):
        raw = make_message(subject="Envelope", to="bob@example.org")
        path = self.h.submit_data(raw, {"Sender": V("s", "bounces@example.org"),
                                        "Recipients": V("as", ["x@example.net", "y@example.net"])})
        self.wait_state(path, "sent")
        p = self.h.message_props(path)
        self.assertEqual(p["Sender"], "bounces@example.org")
        self.assertEqual(sorted(p["Recipients"]), ["x@example.net", "y@example.net"])
        (delivered,) = self.h.read_maildir("local", "new")
        self.assertIn(b"To: <bob@example.org>", delivered, "the header is not rewritten")

    # docs/bus-api.md: Spooler.Submit(h message, a{sv} options)
    def test_submit_fd(self):
        self.need_gdbus()
        raw = make_message(subject="Delivered by Submit", body="through a descriptor\n")
        p = os.path.join(self.h.dir, "message.eml")
        with open(p, "wb") as f:
            f.write(raw)
        fd = os.open(p, os.O_RDONLY)
        try:
            path = self.h.submit_fd(fd)
        finally:
            os.close(fd)
        self.assertTrue(path.startswith(MESSAGE_PREFIX), path)
        self.wait_state(path, "sent")
        (delivered,) = self.h.read_maildir("local", "new")
        self.assertIn(b"Subject: Delivered by Submit", delivered)
        self.assertTrue(normalized(delivered).endswith(b"\n\nthrough a descriptor\n"))
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "Subject"),
                         "Delivered by Submit")

    def test_submit_pipe(self):
        """A pipe (what mailspool-sendmail has on stdin) is a descriptor too."""
        self.need_gdbus()
        raw = make_message(subject="Through a pipe", body="piped\n")
        r, w = os.pipe()
        try:
            os.write(w, raw)  # far below the pipe's capacity
            os.close(w)
            w = None
            path = self.h.submit_fd(r, {"OnDemand": V("b", False)})
        finally:
            os.close(r)
            if w is not None:
                os.close(w)
        self.wait_state(path, "sent")
        (delivered,) = self.h.read_maildir("local", "new")
        self.assertTrue(normalized(delivered).endswith(b"\n\npiped\n"), delivered)

    # docs/bus-api.md, "Message": PropertiesChanged carries what changed in the
    # message's 50 ms window. The Maildir kind delivers in the pass that marks
    # the message "sending", so one signal says "sent" (a build that announces
    # each change at once sends "sending" and then "sent").
    def test_state_changes_are_signalled(self):
        mon = self.h.monitor("type='signal',interface='org.freedesktop.DBus.Properties',"
                             "member='PropertiesChanged',path_namespace='/org/mailspool/Spool1/message'")
        path = self.h.submit_data(make_message(subject="watch me"))
        mon.wait_for(lambda m: is_properties_changed(path, IFACE_MESSAGE)(m)
                     and signal_args(m)[1].get("State") == "sent", what="State 'sent' signal")
        mon.sync()
        signals = [signal_args(m)[1] for m in mon.found(is_properties_changed(path))]
        self.assertEqual([s.get("State") for s in signals], ["sent"],
                         "one signal for one pass of the loop: %r" % signals)
        self.assertEqual(signals[0].get("Attempts"), 1, signals)

    # docs/bus-api.md: Hold b (stay queued until a flush); Message.Abort while queued
    def test_hold_then_abort(self):
        held = self.h.submit_data(make_message(subject="held"), {"OnDemand": V("b", True)})
        # A message submitted after it is delivered at once; the held one stays.
        other = self.h.submit_data(make_message(subject="not held"))
        self.wait_state(other, "sent")
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "queued")
        self.assertEqual(len(self.h.maildir_files("local")), 1)
        self.h.wait_for_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound", lambda n: n == 1)
        self.assertEqual(self.h.call(held, IFACE_MESSAGE, "Abort"), [])
        self.wait_state(held, "aborted")
        self.h.wait_for_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound", lambda n: n == 0)
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 0, "an aborted message is not sent: %r" % summary)
        self.assertEqual(len(self.h.maildir_files("local")), 1)
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "aborted")
        # Aborted is done: a second Abort is NotQueued.
        self.assertCallFails(ERR_NOT_QUEUED, MAPI_E_UNABLE_TO_ABORT, held, IFACE_MESSAGE, "Abort")

    # docs/bus-api.md: Message.Abort else the named error NotQueued
    def test_abort_sent_message(self):
        path = self.h.submit_data(make_message(subject="too late"))
        self.wait_state(path, "sent")
        self.assertCallFails(ERR_NOT_QUEUED, MAPI_E_UNABLE_TO_ABORT, path, IFACE_MESSAGE, "Abort")
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(len(self.h.maildir_files("local")), 1)

    def assert_store_unchanged(self, before):
        self.assertEqual(self.count(), before, "nothing half-stored")
        self.assertEqual(self.h.maildir_files("local"), [])

    # docs/bus-api.md: malformed input -> InvalidArgs naming what is wrong; nothing half-stored
    def test_bad_input_is_refused(self):
        self.need_gdbus()
        no_recipients = (b"From: <alice@example.org>\r\nSubject: nobody\r\n"
                         b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n")
        cases = [
            ("empty message", b"", {}),
            ("no recipient at all", no_recipients, {}),
            ("empty recipient address", make_message(), {"Recipients": V("as", [""])}),
            ("OnDemand of the wrong type", make_message(), {"OnDemand": V("s", "yes")}),
            ("Recipients of the wrong type", make_message(), {"Recipients": V("s", "x@y.org")}),
            ("Transport not an object path", make_message(), {"Transport": V("s", "local")}),
        ]
        for what, raw, options in cases:
            with self.subTest(what):
                before = self.count()
                err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "aya{sv}",
                                        raw, options)
                self.assertBusError(err, ERR_INVALID_ARGS)
                self.assert_store_unchanged(before)

    def test_unknown_transport_option(self):
        self.need_gdbus()
        before = self.count()
        err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "aya{sv}",
                                make_message(), {"Transport": V("o", transport_path("nope"))})
        # docs/bus-api.md: NotFound = "no such transport or message"; InvalidArgs = bad paths.
        self.assertIn(err.name, (ERR_NOT_FOUND, ERR_INVALID_ARGS), err)
        self.assertBusError(err, err.name)
        self.assert_store_unchanged(before)

    def test_submit_empty_fd(self):
        """An empty message through a descriptor is malformed input like an
        empty SubmitData: an empty regular file, and /dev/null."""
        self.need_gdbus()
        empty = os.path.join(self.h.dir, "empty.eml")
        open(empty, "wb").close()
        for what, p in (("empty file", empty), ("/dev/null", os.devnull)):
            with self.subTest(what):
                before = self.count()
                fd = os.open(p, os.O_RDONLY)
                try:
                    err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "Submit", "ha{sv}", fd,
                                            {}, pass_fds=(fd,))
                finally:
                    os.close(fd)
                self.assertBusError(err, ERR_INVALID_ARGS)
                self.assert_store_unchanged(before)


class MailDomainTest(DaemonTestCase):
    """docs/bus-api.md, Configuration files: MailDomain, and a transport's Identity, decide
    the sender of a message that names none."""
    CONFIG = {
        "mailspool.conf": "[Spooler]\nMailDomain=mail.example.net\n",
        "transports.d/local.conf": "[Transport]\nKind=maildir\n",
        "transports.d/work.conf": "[Transport]\nKind=maildir\nIdentity=me@work.example\n",
    }

    def bare(self, options=None):
        import email
        path = self.h.submit_data(b"To: bob@example.org\nSubject: bare\n\nbody\n", options)
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")
        return path

    def test_mail_domain_and_identity(self):
        import pwd
        login = pwd.getpwuid(os.getuid()).pw_name
        path = self.bare()
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "Sender"),
                         login + "@mail.example.net")
        self.assertTrue(self.h.get_property(path, IFACE_MESSAGE, "MessageID")
                        .endswith("@mail.example.net"))
        path = self.bare({"Transport": harness.V("o", transport_path("work"))})
        self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "Sender"), "me@work.example")


class OnDemandSubmitTest(DaemonTestCase):
    CONFIG = {"transports.d/local.conf": MAILDIR + "SendMode=on-demand\n"}

    # docs/bus-api.md: SendMode on-demand (queued until FlushQueues); Message.Abort
    def test_queued_until_flush_and_abort(self):
        self.assertEqual(self.h.get_property(LOCAL, IFACE_TRANSPORT, "SendMode"), "on-demand")
        a = self.h.submit_data(make_message(subject="A"))
        b = self.h.submit_data(make_message(subject="B"))
        for p in (a, b):
            self.assertEqual(self.h.get_property(p, IFACE_MESSAGE, "State"), "queued")
        self.h.wait_for_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound", lambda n: n == 2)
        self.assertEqual(self.h.maildir_files("local"), [])
        self.h.call(b, IFACE_MESSAGE, "Abort")
        self.h.wait_for_property(b, IFACE_MESSAGE, "State", lambda s: s == "aborted")
        self.h.wait_for_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound", lambda n: n == 1)
        summary = self.h.flush(LOCAL, FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(self.h.get_property(a, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(self.h.get_property(b, IFACE_MESSAGE, "State"), "aborted")
        (delivered,) = self.h.read_maildir("local")
        self.assertIn(b"Subject: A", delivered)
        rows = {r[0]: r[1] for r in self.h.list_messages()}
        self.assertEqual(rows, {a: "sent", b: "aborted"})


class MaxMessageSizeTest(DaemonTestCase):
    LIMIT = 2048
    CONFIG = {"mailspool.conf": "[Spooler]\nMaxMessageSize=%d\n" % LIMIT,
              "transports.d/local.conf": MAILDIR}

    def sized(self, size):
        raw = make_message(subject="sized", body="")
        raw += b"x" * (size - len(raw) - 2) + b"\r\n"
        self.assertEqual(len(raw), size)
        return raw

    # docs/bus-api.md: MaxMessageSize — a larger submission gets InvalidArgs
    def test_oversized_submit_data(self):
        self.need_gdbus()
        err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "aya{sv}",
                                self.sized(self.LIMIT + 1), {})
        self.assertBusError(err, ERR_INVALID_ARGS)
        self.assertEqual(self.h.list_messages(), [], "nothing half-stored")
        self.assertEqual(self.h.maildir_files("local"), [])
        path = self.h.submit_data(self.sized(self.LIMIT))
        self.h.wait_for_property(path, IFACE_MESSAGE, "State", lambda s: s == "sent")
        self.assertEqual(len(self.h.list_messages()), 1)

    def test_oversized_submit_fd(self):
        self.need_gdbus()
        p = os.path.join(self.h.dir, "big.eml")
        with open(p, "wb") as f:
            f.write(self.sized(self.LIMIT * 4))
        fd = os.open(p, os.O_RDONLY)
        try:
            err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "Submit", "ha{sv}", fd, {},
                                    pass_fds=(fd,))
        finally:
            os.close(fd)
        self.assertBusError(err, ERR_INVALID_ARGS)
        self.assertEqual(self.h.list_messages(), [])
        self.assertEqual(self.h.maildir_files("local"), [])


if __name__ == "__main__":
    harness.main()
