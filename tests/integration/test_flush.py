#!/usr/bin/env python3
"""Status.FlushQueues on the spooler and on a maildir transport (which cannot
flush itself), its flags and errors, the Pickup download, the other Status
methods a maildir transport lacks, and the signals of a flush."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    ERR_INVALID_ARGS, ERR_NO_SUPPORT, ERR_NOT_FOUND, FLUSH_ASYNC_OK, FLUSH_DOWNLOAD,
    FLUSH_FORCE, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_SPOOLER, IFACE_STATUS,
    IFACE_TRANSPORT, MAPI_E_NO_SUPPORT, MAPI_E_NOT_FOUND, MAPI_E_UNKNOWN_FLAGS,
    REFRESH_XP_HEADER_CACHE, SPOOLER_PATH, STATUS_AVAILABLE, STATUS_INBOUND_FLUSH,
    STATUS_OUTBOUND_FLUSH, DaemonTestCase, V, is_properties_changed, make_message, signal_args,
    transport_path)

LOCAL = transport_path("local")
MAILDIR = "[Transport]\nKind=maildir\n"
SUMMARY_TYPES = {"sent": "u", "deferred": "u", "failed": "u", "received": "u",
                 "skipped": "ao", "errors": "a(oss)"}
PROPS_MATCH = "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'"


def hold(h, subject, transport=None):
    options = {"OnDemand": V("b", True)}
    if transport:
        options["Transport"] = V("o", transport)
    return h.submit_data(make_message(subject=subject), options)


def drop(h, name, data, transport_id="local"):
    d = h.pickup_dir(transport_id)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


class FlushTest(DaemonTestCase):

    def state(self, path):
        return self.h.get_property(path, IFACE_MESSAGE, "State")

    def flush_fails(self, name, code, target, flags, path=SPOOLER_PATH):
        return self.assertCallFails(name, code, path, IFACE_STATUS, "FlushQueues", "ou",
                                    target, flags)

    # docs/bus-api.md: Status.FlushQueues — a transport without STATUS_FLUSH_QUEUES
    # answers its own FlushQueues with NoSupport
    def test_maildir_transport_cannot_flush_itself(self):
        msg = hold(self.h, "stays")
        for flags in (FLUSH_UPLOAD, FLUSH_DOWNLOAD, FLUSH_UPLOAD | FLUSH_DOWNLOAD | FLUSH_NO_UI):
            with self.subTest(flags=hex(flags)):
                self.flush_fails(ERR_NO_SUPPORT, MAPI_E_NO_SUPPORT, "/", flags, path=LOCAL)
        self.assertEqual(self.state(msg), "queued")
        self.assertEqual(self.h.maildir_files("local"), [])

    # docs/bus-api.md: Status.SettingsDialog -> always NoSupport
    def test_settings_dialog(self):
        for path in (SPOOLER_PATH, LOCAL):
            with self.subTest(path=path):
                self.assertCallFails(ERR_NO_SUPPORT, MAPI_E_NO_SUPPORT, path, IFACE_STATUS,
                                     "SettingsDialog", "u", 0)

    # docs/bus-api.md: Status.ChangePassword; any method whose bit is missing -> NoSupport
    def test_change_password(self):
        for path in (SPOOLER_PATH, LOCAL):
            with self.subTest(path=path):
                self.assertCallFails(ERR_NO_SUPPORT, MAPI_E_NO_SUPPORT, path, IFACE_STATUS,
                                     "ChangePassword", "ssu", "old", "new", 0)

    # docs/bus-api.md: Status.ValidateState; header-cache flags without remote access -> NoSupport
    def test_validate_state(self):
        self.assertEqual(self.h.call(LOCAL, IFACE_STATUS, "ValidateState", "u", 0), [])
        self.assertTrue(self.h.get_property(LOCAL, IFACE_STATUS, "StatusCode") & STATUS_AVAILABLE)
        self.assertEqual(self.h.call(SPOOLER_PATH, IFACE_STATUS, "ValidateState", "u", 0), [])
        self.assertCallFails(ERR_NO_SUPPORT, MAPI_E_NO_SUPPORT, LOCAL, IFACE_STATUS,
                             "ValidateState", "u", REFRESH_XP_HEADER_CACHE)

    # docs/bus-api.md: Status.FlushQueues — the spooler, given the transport as target,
    # flushes it; summary keys
    def test_spooler_flushes_transport_target(self):
        msg = hold(self.h, "via spooler")
        self.assertEqual(self.state(msg), "queued")
        (raw,) = self.h.call_raw(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", LOCAL,
                                 FLUSH_UPLOAD | FLUSH_NO_UI)["data"]
        self.assertEqual({k: v["type"] for k, v in raw.items()}, SUMMARY_TYPES)
        summary = {k: harness.decode(v["type"], v["data"]) for k, v in raw.items()}
        self.assertEqual(summary, {"sent": 1, "deferred": 0, "failed": 0, "received": 0,
                                   "skipped": [], "errors": []})
        # Synchronous: the outcome is there when the reply comes.
        self.assertEqual(self.state(msg), "sent")
        (delivered,) = self.h.read_maildir("local")
        self.assertIn(b"Subject: via spooler", delivered)
        self.assertEqual(self.h.get_property(LOCAL, IFACE_TRANSPORT, "QueuedOutbound"), 0)

    # docs/bus-api.md: on the spooler, "/" means every transport in TransportOrder
    def test_spooler_flushes_all(self):
        msgs = [hold(self.h, "all %d" % i) for i in range(3)]
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual((summary["sent"], summary["failed"], summary["deferred"]), (3, 0, 0))
        self.assertEqual(summary["skipped"], [])
        self.assertEqual(summary["errors"], [])
        self.assertEqual([self.state(m) for m in msgs], ["sent"] * 3)
        self.assertEqual(len(self.h.maildir_files("local")), 3)
        # Nothing left: a second flush sends nothing and delivers no duplicate.
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 0, summary)
        self.assertEqual(len(self.h.maildir_files("local")), 3)

    # docs/bus-api.md: flags — unknown bits -> InvalidArgs naming MAPI_E_UNKNOWN_FLAGS;
    # neither UPLOAD nor DOWNLOAD -> InvalidArgs
    def test_flag_validation(self):
        msg = hold(self.h, "untouched")
        for flags in (FLUSH_UPLOAD | 0x1, FLUSH_UPLOAD | 0x40, FLUSH_DOWNLOAD | 0x100,
                      FLUSH_UPLOAD | 0x80000000, 0xFFFFFFFF):
            with self.subTest(flags=hex(flags)):
                for target in ("/", LOCAL):
                    self.flush_fails(ERR_INVALID_ARGS, MAPI_E_UNKNOWN_FLAGS, target, flags)
        for flags in (0, FLUSH_NO_UI, FLUSH_FORCE, FLUSH_ASYNC_OK, FLUSH_FORCE | FLUSH_NO_UI):
            with self.subTest(flags=hex(flags)):
                err = self.flush_fails(ERR_INVALID_ARGS, None, "/", flags)
                self.assertNotIn("MAPI_E_UNKNOWN_FLAGS", err.message,
                                 "known flags, only the direction is missing")
        # Nothing started.
        self.assertEqual(self.state(msg), "queued")
        self.assertEqual(self.h.maildir_files("local"), [])

    # docs/bus-api.md: FLUSH_ASYNC_OK on a transport object -> InvalidArgs (spooler only).
    # The maildir transport also lacks STATUS_FLUSH_QUEUES, and docs/bus-api.md says such
    # a transport "answers its own FlushQueues with NoSupport": both rules apply
    # here, so either error is accepted; the InvalidArgs rule alone needs a
    # transport that can flush itself (smtp, imap, pop3). Nothing may start.
    def test_async_ok_on_transport(self):
        self.need_gdbus()
        msg = hold(self.h, "untouched")
        err = self.h.call_error(LOCAL, IFACE_STATUS, "FlushQueues", "ou", "/",
                                FLUSH_UPLOAD | FLUSH_ASYNC_OK)
        self.assertIn(err.name, (ERR_INVALID_ARGS, ERR_NO_SUPPORT), err)
        self.assertBusError(err, err.name)
        self.assertEqual(self.state(msg), "queued")
        self.assertEqual(self.h.maildir_files("local"), [])

    # docs/bus-api.md: Errors — NotFound: no such transport
    def test_unknown_target(self):
        msg = hold(self.h, "untouched")
        for target in (transport_path("nope"), "/org/mailspool/Spool1/transport",
                       "/org/example/Elsewhere"):
            with self.subTest(target=target):
                self.flush_fails(ERR_NOT_FOUND, MAPI_E_NOT_FOUND, target, FLUSH_UPLOAD)
        self.assertEqual(self.state(msg), "queued")

    # Built-in default: files dropped into Pickup become inbound messages on a
    # download flush; dotfiles are ignored (docs/bus-api.md: Pickup; Message.Path)
    def test_download_from_pickup(self):
        data = make_message(subject="Dropped in", to="me@example.org", body="inbound body\n")
        drop(self.h, "mail-1", data)
        dot = drop(self.h, ".partial", make_message(subject="not yet"))
        summary = self.h.flush("/", FLUSH_DOWNLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["received"], 1, summary)
        self.assertEqual((summary["sent"], summary["failed"]), (0, 0))
        rows = self.h.list_messages({"Direction": V("s", "inbound")})
        self.assertEqual(len(rows), 1, rows)
        path = rows[0][0]
        self.assertEqual(rows[0][1], "received")
        self.assertEqual(rows[0][3], "Dropped in")
        p = self.h.message_props(path)
        self.assertEqual(p["Direction"], "inbound")
        self.assertEqual(p["State"], "received")
        self.assertEqual(p["Transport"], LOCAL)
        self.assertEqual(p["Subject"], "Dropped in")
        maildir = os.path.realpath(self.h.maildir("local"))
        self.assertTrue(os.path.realpath(p["Path"]).startswith(maildir + os.sep),
                        "Path %r is in the transport's Maildir %r" % (p["Path"], maildir))
        self.assertIn(os.path.basename(os.path.dirname(p["Path"])), ("new", "cur"))
        with open(p["Path"], "rb") as f:
            self.assertEqual(f.read().replace(b"\r\n", b"\n"), data.replace(b"\r\n", b"\n"))
        self.assertTrue(os.path.exists(dot), "dotfiles in Pickup are left alone")
        # Taken once: a second download receives nothing more.
        summary = self.h.flush(LOCAL, FLUSH_DOWNLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["received"], 0, summary)
        self.assertEqual(len(self.h.list_messages({"Direction": V("s", "inbound")})), 1)

    def test_upload_and_download_in_one_flush(self):
        msg = hold(self.h, "out")
        drop(self.h, "in-1", make_message(subject="in one"))
        drop(self.h, "in-2", make_message(subject="in two"))
        summary = self.h.flush(LOCAL, FLUSH_UPLOAD | FLUSH_DOWNLOAD | FLUSH_NO_UI)
        self.assertEqual((summary["sent"], summary["received"]), (1, 2), summary)
        self.assertEqual(self.state(msg), "sent")
        subjects = sorted(r[3] for r in self.h.list_messages({"Direction": V("s", "inbound")}))
        self.assertEqual(subjects, ["in one", "in two"])

    # docs/bus-api.md: Status — every property that can change emits PropertiesChanged with
    # its new value; FlushQueues status bits rise while the flush runs and fall
    # when it ends (transport and spooler); Transport.QueuedOutbound
    def test_properties_changed_during_upload(self):
        mon = self.h.monitor(PROPS_MATCH + ",path='%s'" % LOCAL,
                             PROPS_MATCH + ",path='%s'" % SPOOLER_PATH)

        def changes(path, iface, name):
            out = []
            for m in mon.found(is_properties_changed(path, iface)):
                args = signal_args(m)
                self.assertNotIn(name, args[2], "%s sent as invalidated, without its value"
                                 % name)
                if name in args[1]:
                    out.append(args[1][name])
            return out

        hold(self.h, "signalled")
        mon.wait_for(lambda m: is_properties_changed(LOCAL, IFACE_TRANSPORT)(m)
                     and signal_args(m)[1].get("QueuedOutbound") == 1,
                     what="QueuedOutbound=1 on the transport")
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        mon.wait_for(lambda m: is_properties_changed(LOCAL, IFACE_TRANSPORT)(m)
                     and signal_args(m)[1].get("QueuedOutbound") == 0,
                     what="QueuedOutbound=0 on the transport")
        mon.sync()
        codes = changes(LOCAL, IFACE_STATUS, "StatusCode")
        rose = [i for i, c in enumerate(codes) if c & STATUS_OUTBOUND_FLUSH]
        self.assertTrue(rose, "transport StatusCode never had STATUS_OUTBOUND_FLUSH: %s"
                        % [hex(c) for c in codes])
        self.assertTrue(any(not c & STATUS_OUTBOUND_FLUSH for c in codes[rose[0]:]),
                        "STATUS_OUTBOUND_FLUSH never fell: %s" % [hex(c) for c in codes])
        self.assertFalse(self.h.get_property(LOCAL, IFACE_STATUS, "StatusCode")
                         & STATUS_OUTBOUND_FLUSH)
        scodes = changes(SPOOLER_PATH, IFACE_STATUS, "StatusCode")
        srose = [i for i, c in enumerate(scodes) if c & STATUS_OUTBOUND_FLUSH]
        self.assertTrue(srose, "spooler StatusCode never had STATUS_OUTBOUND_FLUSH: %s"
                        % [hex(c) for c in scodes])
        self.assertTrue(any(not c & STATUS_OUTBOUND_FLUSH for c in scodes[srose[0]:]),
                        "spooler STATUS_OUTBOUND_FLUSH never fell: %s" % [hex(c) for c in scodes])
        self.assertFalse(self.h.get_property(SPOOLER_PATH, IFACE_STATUS, "StatusCode")
                         & STATUS_OUTBOUND_FLUSH)
        self.assertEqual(changes(LOCAL, IFACE_TRANSPORT, "QueuedOutbound")[-1], 0)

    def test_properties_changed_during_download(self):
        drop(self.h, "in", make_message(subject="in"))
        mon = self.h.monitor(PROPS_MATCH + ",path='%s'" % LOCAL)
        summary = self.h.flush(LOCAL, FLUSH_DOWNLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["received"], 1)
        mon.sync()
        codes = [signal_args(m)[1]["StatusCode"]
                 for m in mon.found(is_properties_changed(LOCAL, IFACE_STATUS))
                 if "StatusCode" in signal_args(m)[1]]
        rose = [i for i, c in enumerate(codes) if c & STATUS_INBOUND_FLUSH]
        self.assertTrue(rose, "StatusCode never had STATUS_INBOUND_FLUSH: %s"
                        % [hex(c) for c in codes])
        self.assertFalse(codes[-1] & STATUS_INBOUND_FLUSH, [hex(c) for c in codes])
        self.assertFalse(any(c & STATUS_OUTBOUND_FLUSH for c in codes),
                         "a download flush raises no OUTBOUND bit")

    # docs/bus-api.md: Without FLUSH_NO_UI the caller (alone: unicast) receives
    # FlushProgress signals; with it, none
    def test_flush_progress_is_unicast_to_caller(self):
        hold(self.h, "progress 1")
        hold(self.h, "progress 2")
        mon = self.h.monitor("type='signal',member='FlushProgress'",
                             "type='method_call',member='FlushQueues'")
        summary = self.h.flush("/", FLUSH_UPLOAD)
        self.assertEqual(summary["sent"], 2)
        call = mon.wait_for(lambda m: m.get("type") == "method_call", what="the FlushQueues call")
        caller = call["sender"]
        mon.sync()
        progress = mon.found(lambda m: m.get("member") == "FlushProgress")
        self.assertTrue(progress, "no FlushProgress without FLUSH_NO_UI")
        for m in progress:
            self.assertEqual(m.get("destination"), caller, "FlushProgress is unicast to the caller")
            self.assertEqual(m.get("interface"), IFACE_STATUS)
            transport, done, total, text = signal_args(m)
            self.assertEqual(transport, LOCAL)
            self.assertLessEqual(done, total)
            self.assertIsInstance(text, str)
        self.assertEqual(max(signal_args(m)[2] for m in progress), 2, "total of the queue")

    # docs/bus-api.md, FlushProgress: at most twenty a second, the last one always
    def test_flush_progress_is_coalesced(self):
        n = 300
        for i in range(n):
            hold(self.h, "many %d" % i)
        mon = self.h.monitor("type='signal',member='FlushProgress'")
        started = time.monotonic()
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD)["sent"], n)
        elapsed = time.monotonic() - started
        mon.sync()
        progress = mon.found(lambda m: m.get("member") == "FlushProgress")
        self.assertTrue(progress)
        self.assertLessEqual(len(progress), elapsed * 20 + 2,
                             "%d reports in %.2f s" % (len(progress), elapsed))
        self.assertLess(len(progress), n, "not one per message")
        self.assertEqual(signal_args(progress[-1])[1:3], [n, n], "the last report is the end")

    def test_no_flush_progress_with_no_ui(self):
        hold(self.h, "quiet")
        mon = self.h.monitor("type='signal',member='FlushProgress'")
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1)
        mon.sync()  # everything the daemon sent before its reply has been seen
        self.assertEqual(mon.found(lambda m: True), [])

    # docs/bus-api.md: FLUSH_ASYNC_OK (spooler only): the reply comes as soon as the flush
    # has started; its end is the FlushFinished signal
    def test_async_flush_finished_signal(self):
        msg = hold(self.h, "async")
        mon = self.h.monitor("type='signal',member='FlushFinished'")
        flags = FLUSH_UPLOAD | FLUSH_NO_UI | FLUSH_ASYNC_OK
        self.h.call(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", "/", flags)
        m = mon.wait_for(lambda m: True, what="FlushFinished")
        self.assertEqual(m.get("interface"), IFACE_STATUS)
        self.assertEqual(m.get("path"), SPOOLER_PATH)
        target, got_flags, summary = signal_args(m)
        self.assertEqual(target, "/")
        self.assertEqual(got_flags & (FLUSH_UPLOAD | FLUSH_DOWNLOAD), FLUSH_UPLOAD)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(self.state(msg), "sent")


class AsynchronousTransportTest(DaemonTestCase):
    """docs/bus-api.md: a transport with Asynchronous = true is flushed by the spooler
    only with FLUSH_FORCE."""
    CONFIG = {
        "mailspool.conf": "[Spooler]\nTransportOrder=sync lazy\n",
        "transports.d/sync.conf": MAILDIR + "SendMode=on-demand\n",
        "transports.d/lazy.conf": MAILDIR + "SendMode=on-demand\nAsynchronous=yes\n",
    }
    SYNC = transport_path("sync")
    LAZY = transport_path("lazy")

    def test_asynchronous_needs_force(self):
        self.assertIs(self.h.get_property(self.LAZY, IFACE_TRANSPORT, "Asynchronous"), True)
        self.assertIs(self.h.get_property(self.SYNC, IFACE_TRANSPORT, "Asynchronous"), False)
        a = hold(self.h, "to sync", self.SYNC)
        b = hold(self.h, "to lazy", self.LAZY)
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(summary["skipped"], [self.LAZY])
        self.assertEqual(self.h.get_property(a, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(self.h.get_property(b, IFACE_MESSAGE, "State"), "queued")
        err = self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", self.LAZY,
                                FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertBusError(err, ERR_INVALID_ARGS)
        self.assertEqual(self.h.get_property(b, IFACE_MESSAGE, "State"), "queued")
        summary = self.h.flush(self.LAZY, FLUSH_UPLOAD | FLUSH_NO_UI | FLUSH_FORCE)
        self.assertEqual((summary["sent"], summary["skipped"]), (1, []), summary)
        self.assertEqual(self.h.get_property(b, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(len(self.h.maildir_files("lazy")), 1)
        self.assertEqual(len(self.h.maildir_files("sync")), 1)

    def test_force_under_root_target(self):
        hold(self.h, "to lazy", self.LAZY)
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI | FLUSH_FORCE)
        self.assertEqual((summary["sent"], summary["skipped"]), (1, []), summary)


if __name__ == "__main__":
    harness.main()
