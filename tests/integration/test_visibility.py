#!/usr/bin/env python3
"""Nothing of one user's mail reaches another user (a shared machine, class 3):
bob's message changes and its report of failed mail are told to bob's
connections (and admins') alone; alice, listening on the bus, hears nothing of
them, and the transport's LastError, which she may read, quotes no server reply
about bob's message."""

import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_STATUS, IFACE_TRANSPORT, SPOOLER_PATH)
from systembus import ADMIN, ALICE, BOB, OUT, TIMEOUT, SystemBusCase  # noqa: E402

SECRET_RCPT = "secret-recipient@example.org"
SECRET_SUBJECT = "bob's private matter"


class Listener:
    """bus-listen (or gdbus monitor) as a user, its output collected."""

    def __init__(self, case, uid, argv):
        self.proc = subprocess.Popen(case.as_user(uid, argv), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=case.env, text=True, errors="replace")
        case.addCleanup(self.close)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, text, what):
        with self.cond:
            if not self.cond.wait_for(lambda: any(text in x for x in self.lines), TIMEOUT):
                raise AssertionError("no %s: %s" % (what, "".join(self.lines)[-2000:]))

    def text(self):
        with self.cond:
            return "".join(self.lines)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class VisibilityTest(SystemBusCase):

    SINK_ARGS = ("-f", "RCPT")  # the server refuses every recipient for good

    # docs/bus-api.md, "Access": signals about a message go to its owner and admins
    def test_another_user_hears_nothing_of_bobs_mail(self):
        listen = os.environ["BUS_LISTEN"]
        alice = Listener(self, ALICE, [listen])
        alice_monitor = Listener(self, ALICE, ["gdbus", "monitor", "--system", "--dest",
                                               "org.mailspool.Spool1"])
        bob = Listener(self, BOB, [listen])
        admin = Listener(self, ADMIN, [listen])
        for who in (alice, bob, admin):
            who.wait_for("READY", "listener ready")

        path = self.submit_held(BOB, SECRET_SUBJECT, to=SECRET_RCPT)
        rc, out, err = self.gdbus(BOB, SPOOLER_PATH, IFACE_STATUS + ".FlushQueues", "/",
                                  "uint32 %d" % (FLUSH_UPLOAD | FLUSH_NO_UI))
        self.assertEqual(rc, 0, err)
        self.assertIn("'failed': <uint32 1>", out)

        # Bob and the admin hear of it...
        for who in (bob, admin):
            who.wait_for(path, "the change of bob's message")
            who.wait_for("MessageReceived", "the report of bob's failed mail")
        # ... and nobody else: a marker broadcast after it reaches alice too.
        subprocess.run(["busctl", "--system", "emit", "/test/marker", "test.Marker", "Done"],
                       env=self.env, check=True, timeout=TIMEOUT)
        alice.wait_for("test.Marker", "the marker")
        for heard in (alice.text(), alice_monitor.text()):
            self.assertNotIn(path, heard)
            self.assertNotIn("MessageReceived", heard)
            self.assertNotIn("secret-recipient", heard)
            self.assertNotIn("private matter", heard)

        rc, out, err = self.gdbus(ALICE, OUT, "org.freedesktop.DBus.Properties.GetAll",
                                  IFACE_TRANSPORT)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("secret-recipient", out, "LastError quotes a reply about bob's mail")
        rc, out, err = self.gdbus(ALICE, OUT, "org.freedesktop.DBus.Properties.GetAll",
                                  IFACE_STATUS)
        self.assertNotIn("secret-recipient", out)

    # docs/bus-api.md, "Message": a tree browser finds the caller's own messages under
    # .../message, and nobody else's; GetManagedObjects lists none
    def test_introspection_lists_own_messages_only(self):
        alices = self.submit_held(ALICE, "alice's").rsplit("/", 1)[1]
        bobs = self.submit_held(BOB, "bob's").rsplit("/", 1)[1]

        def children(uid):
            rc, out, err = self.gdbus(uid, "/org/mailspool/Spool1/message",
                                      "org.freedesktop.DBus.Introspectable.Introspect")
            self.assertEqual(rc, 0, err)
            return set(re.findall(r'<node name=\\?"(\d+)\\?"', out))
        self.assertEqual(children(ALICE), {alices})
        self.assertEqual(children(BOB), {bobs})
        self.assertEqual(children(ADMIN), {alices, bobs})
        rc, out, err = self.gdbus(ADMIN, "/org/mailspool/Spool1",
                                  "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("/message/", out, "messages are not managed objects")


if __name__ == "__main__":
    harness.main()
