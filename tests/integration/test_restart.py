#!/usr/bin/env python3
"""The daemon's life: queued mail survives SIGTERM and a restart on the same
state dir and is then delivered exactly once; SIGHUP reload keeps the queue;
the exit codes of bad configuration (1) and of a missing bus or store (2)."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_STATUS, IFACE_TRANSPORT, DaemonTestCase,
    make_message, signal_args, transport_path)

LOCAL = transport_path("local")
ON_DEMAND = {"transports.d/local.conf": "[Transport]\nKind=maildir\nSendMode=on-demand\n"}


class RestartTest(DaemonTestCase):
    CONFIG = ON_DEMAND

    def queued_rows(self):
        return sorted((r[0], r[1], r[3]) for r in self.h.list_messages())

    # docs/bus-api.md: SendMode on-demand; SIGTERM; exit code 0; docs/architecture.md: the store is
    # durable and on start nothing queued is lost
    def test_queued_mail_survives_restart(self):
        subjects = ["restart %d" % i for i in range(3)]
        paths = [self.h.submit_data(make_message(subject=s)) for s in subjects]
        self.h.wait_for_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound", lambda n: n == 3)
        before = self.queued_rows()
        self.assertEqual(before, sorted(zip(paths, ["queued"] * 3, subjects)))
        self.assertEqual(self.h.maildir_files("local"), [])

        self.h.restart_daemon()  # asserts exit code 0 after SIGTERM

        self.assertEqual(self.queued_rows(), before, "same messages, same paths, still queued")
        self.assertEqual(self.h.get_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound"), 3)
        for p, s in zip(paths, subjects):
            props = self.h.message_props(p)
            self.assertEqual((props["State"], props["Subject"]), ("queued", s))
        self.assertEqual(self.h.maildir_files("local"), [], "on-demand: nothing sent on start")

        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual((summary["sent"], summary["failed"]), (3, 0), summary)
        delivered = self.h.read_maildir("local")
        got = sorted(re.search(rb"Subject: ([^\r\n]*)", d).group(1).decode() for d in delivered)
        self.assertEqual(got, subjects, "each message delivered exactly once")
        self.assertEqual({self.h.get_property(p, IFACE_MESSAGE, "State") for p in paths}, {"sent"})

        # Sent mail stays sent across another restart and is not sent again.
        self.h.restart_daemon()
        self.assertEqual({r[1] for r in self.h.list_messages()}, {"sent"})
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 0, summary)
        self.assertEqual(len(self.h.maildir_files("local")), 3)

    def test_new_ids_after_restart(self):
        a = self.h.submit_data(make_message(subject="a"))
        self.h.restart_daemon()
        b = self.h.submit_data(make_message(subject="b"))
        self.assertNotEqual(a, b, "a message id is never reused")
        self.assertEqual({r[0] for r in self.h.list_messages()}, {a, b})

    # docs/bus-api.md: SIGHUP reloads config; docs/architecture.md: without losing queued mail
    def test_sighup_reload_keeps_queue(self):
        msg = self.h.submit_data(make_message(subject="kept"))
        self.assertEqual(self.h.get_property(LOCAL, IFACE_STATUS, "DisplayName"), "local")
        self.h.write_config({"transports.d/local.conf":
                             "[Transport]\nKind=maildir\nSendMode=on-demand\n"
                             "DisplayName=Renamed box\n"})
        self.h.signal_daemon(signal.SIGHUP)
        self.h.wait_for_property(LOCAL, IFACE_STATUS, "DisplayName", lambda v: v == "Renamed box")
        self.assertEqual(self.h.get_property(msg, IFACE_MESSAGE, "State"), "queued")
        self.assertEqual(self.h.get_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound"), 1)
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)
        self.h.stop_daemon(expect_code=0)

    # docs/bus-api.md, ValidateState CONFIG_CHANGED: a configuration that reads well but
    # whose transports cannot start (a server URL libcurl cannot parse) leaves
    # the previous transports serving, queue and all
    def test_reload_that_cannot_start_keeps_the_previous_transports(self):
        msg = self.h.submit_data(make_message(subject="kept"))
        self.h.write_config({"transports.d/local.conf": ON_DEMAND["transports.d/local.conf"],
                             "transports.d/broken.conf":
                             "[Transport]\nKind=imap\nServer=imap://[::1\n"}, clear=False)
        self.need_gdbus()
        err = self.h.call_error(harness.SPOOLER_PATH, IFACE_STATUS, "ValidateState", "u",
                                harness.CONFIG_CHANGED)
        self.assertIn("the previous configuration stays", err.message)
        self.assertEqual([r["EntryID"] for r in self.h.query_status_table(["EntryID"])],
                         [harness.SPOOLER_PATH, LOCAL])
        self.assertEqual(self.h.get_property(msg, IFACE_MESSAGE, "State"), "queued")
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)


class ReloadKeepsUnchangedTest(DaemonTestCase):
    """docs/bus-api.md, "Configuration files": a reload keeps the transports whose file
    did not change, object and all, so that a client's proxy of them stays good; only
    changed ones are replaced."""
    CONFIG = {
        "transports.d/a.conf": "[Transport]\nKind=maildir\nSendMode=on-demand\n",
        "transports.d/b.conf": "[Transport]\nKind=maildir\nSendMode=on-demand\n",
    }
    A = transport_path("a")
    B = transport_path("b")

    def test_only_the_changed_transport_is_replaced(self):
        # State that lives in the transport object only: offline.
        self.h.call(self.A, IFACE_STATUS, "ValidateState", "u", harness.FORCE_XP_DISCONNECT)
        self.h.call(self.B, IFACE_STATUS, "ValidateState", "u", harness.FORCE_XP_DISCONNECT)
        mon = self.h.monitor("type='signal',interface='org.freedesktop.DBus.ObjectManager'")
        self.h.write_config({"transports.d/b.conf": "[Transport]\nKind=maildir\n"
                                                    "SendMode=on-demand\nDisplayName=Bee\n"},
                            clear=False)
        self.h.call(harness.SPOOLER_PATH, IFACE_STATUS, "ValidateState", "u",
                    harness.CONFIG_CHANGED)
        mon.sync()
        touched = [(m.get("member"), signal_args(m)[0]) for m in mon.found(lambda m: True)]
        self.assertEqual(touched, [("InterfacesRemoved", self.B), ("InterfacesAdded", self.B)])
        # a kept its object, and what it knew: still offline; b is new, back online.
        self.assertTrue(self.h.get_property(self.A, IFACE_STATUS, "StatusCode")
                        & harness.STATUS_OFFLINE)
        self.assertFalse(self.h.get_property(self.B, IFACE_STATUS, "StatusCode")
                         & harness.STATUS_OFFLINE)
        self.assertEqual(self.h.get_property(self.B, IFACE_STATUS, "DisplayName"), "Bee")


class ExitCodeTest(DaemonTestCase):
    START = False

    def assert_names(self, log, filename, line, key):
        """docs/bus-api.md: the message names the file, line and key (on one log line)."""
        for text in log.splitlines():
            if filename in text and key in text and re.search(
                    r"(:%d\b|\bline %d\b)" % (line, line), text):
                return
        self.fail("no log line names %s, line %d and key %s:\n%s" % (filename, line, key, log))

    def expect_config_error(self, files, filename, line, key):
        self.h.write_config(files)
        code, log, ready = self.h.run_daemon_expect_exit()
        self.assertEqual(code, 1, "bad configuration -> exit code 1; log:\n" + log)
        self.assertFalse(ready, "READY=1 sent despite a bad configuration")
        self.assert_names(log, filename, line, key)

    # docs/bus-api.md: exit code 1, bad configuration (the message names file, line, key)
    def test_unknown_key(self):
        self.expect_config_error(
            {"transports.d/bad.conf": "[Transport]\nKind=maildir\nBogusKey=1\n"},
            "bad.conf", 3, "BogusKey")

    def test_bad_value(self):
        self.expect_config_error(
            {"transports.d/bad.conf": "[Transport]\n# comment\nKind=maildir\n"
                                      "SendMode=sometimes\n"},
            "bad.conf", 4, "SendMode")

    def test_bad_spooler_value(self):
        self.expect_config_error(
            {"mailspool.conf": "[Spooler]\nMaxMessageSize=lots\n",
             "transports.d/local.conf": "[Transport]\nKind=maildir\n"},
            "mailspool.conf", 2, "MaxMessageSize")

    def test_unknown_kind(self):
        self.expect_config_error(
            {"transports.d/odd.conf": "[Transport]\nKind=carrier-pigeon\n"},
            "odd.conf", 2, "Kind")

    def test_bad_config_then_good_config(self):
        """A bad configuration leaves no state that stops a later good start."""
        self.h.write_config({"transports.d/bad.conf": "[Transport]\nKind=maildir\nNope=1\n"})
        code, log, _ = self.h.run_daemon_expect_exit()
        self.assertEqual(code, 1, log)
        self.h.write_config(ON_DEMAND)
        self.h.start_daemon()
        self.assertEqual(self.h.get_property(LOCAL, IFACE_TRANSPORT, "SendMode"), "on-demand")
        self.h.stop_daemon(expect_code=0)

    # docs/bus-api.md: exit code 2, bus or store unavailable
    def test_no_bus(self):
        self.h.start_bus()
        code, log, ready = self.h.run_daemon_expect_exit(env_overrides={
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=" + os.path.join(self.h.dir, "no-such-bus")})
        self.assertEqual(code, 2, "no bus -> exit code 2; log:\n" + log)
        self.assertFalse(ready)

    def test_store_unavailable(self):
        # The state dir is a regular file: no store can be opened there.
        with open(self.h.state_dir, "w") as f:
            f.write("not a directory\n")
        code, log, ready = self.h.run_daemon_expect_exit()
        self.assertEqual(code, 2, "store unavailable -> exit code 2; log:\n" + log)
        self.assertFalse(ready)

    def test_clean_stop(self):
        self.h.start_daemon()
        self.assertEqual(self.h.get_property(harness.SPOOLER_PATH, IFACE_STATUS, "ResourceType"),
                         harness.MAPI_SPOOLER)
        self.assertEqual(self.h.stop_daemon(expect_code=0), 0)
        # The name is released: the bus no longer has an owner for it.
        rc, out, err = self.h._run(["busctl", "--user", "status", harness.BUS_NAME])
        self.assertNotEqual(rc, 0, "the bus name is still owned after the exit: " + out)


if __name__ == "__main__":
    harness.main()
