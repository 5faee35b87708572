#!/usr/bin/env python3
"""libmailspool-glib from Python through its typelib (GObject introspection,
Mailspool 1.0), against the real daemon on the tests' private bus: submitting
GBytes and a GFile, an asynchronous flush that reports progress and ends with
FlushFinished, the generated QueryStatusTable with a restriction, errors that
keep their D-Bus names, and the example app of examples/.

The library and its typelib come from the build (GI_TYPELIB_PATH,
LD_LIBRARY_PATH, set by meson). gi is Debian's python3-gi, so the file runs
itself again under /usr/bin/python3; in a sanitizer build also with ASan's
runtime preloaded (MAILSPOOL_ASAN_RUNTIME), which a library built with ASan
needs in a program that is not. The daemon, the bus and the tools the harness
starts get the environment as it was."""

import json
import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"
_SAVED = "MAILSPOOL_GLIB_TEST_SAVED_ENV"
_FOR_GI = ("LD_PRELOAD", "ASAN_OPTIONS")


def _run_where_gi_works():
    if _SAVED in os.environ:
        saved = json.loads(os.environ.pop(_SAVED))
        for name in _FOR_GI:
            if saved.get(name) is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = saved[name]
        return
    env = dict(os.environ)
    env[_SAVED] = json.dumps({name: os.environ.get(name) for name in _FOR_GI})
    runtime = os.environ.get("MAILSPOOL_ASAN_RUNTIME")
    if runtime:
        env["LD_PRELOAD"] = runtime
        # Python's own allocations are not ours to judge; the daemon keeps
        # its leak check (its environment is put back above).
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    if os.access(SYSTEM_PYTHON, os.X_OK):
        os.execve(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv, env)


if __name__ == "__main__":
    _run_where_gi_works()

import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    ERR_INVALID_ARGS, ERR_NOT_FOUND, FLUSH_ASYNC_OK, FLUSH_UPLOAD, IFACE_MESSAGE, IFACE_SPOOLER,
    MAPI_TRANSPORT_PROVIDER, MAPI_SPOOLER, MESSAGE_PREFIX, SPOOLER_PATH, WAIT_TIMEOUT,
    DaemonTestCase, make_message, mapi_prefix, signal_args, transport_path)

try:
    import gi
    gi.require_version("Mailspool", "1.0")
    from gi.repository import Gio, GLib, Mailspool
except (ImportError, ValueError) as e:
    GI_MISSING = "python3-gi or the Mailspool typelib is missing: %s" % e
else:
    GI_MISSING = None

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "send-and-flush.py")
LOCAL = transport_path("local")


def on_demand():
    return GLib.Variant("a{sv}", {"OnDemand": GLib.Variant("b", True)})


class GlibTestCase(DaemonTestCase):
    """A started daemon and a MailspoolClient on its bus."""

    def setUp(self):
        if GI_MISSING:
            self.skipTest(GI_MISSING)
        super().setUp()
        # A connection of its own to this test's bus (the process's shared
        # session connection would outlive the bus).
        self.connection = Gio.DBusConnection.new_for_address_sync(
            self.h.bus_address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.addCleanup(self.connection.close_sync, None)
        self.client = Mailspool.Client.new_sync(self.connection, None)

    def run_async(self, start, what, timeout=WAIT_TIMEOUT):
        """start(callback) begins an asynchronous call; the main loop runs until
        the callback has its result, at most timeout seconds."""
        loop = GLib.MainLoop()
        got = []

        def callback(source, result, *user_data):
            got.append(result)
            loop.quit()

        start(callback)
        bound = GLib.timeout_add(int(timeout * 1000), loop.quit)
        loop.run()
        if not got:
            self.fail("%s did not end within %ss" % (what, timeout))
        GLib.source_remove(bound)
        return got[0]

    def assertRemoteError(self, error, name, code):
        """A GError of a D-Bus error: its name kept, and the daemon's message
        after GDBus's prefix."""
        self.assertTrue(Gio.DBusError.is_remote_error(error), error.message)
        self.assertEqual(Gio.DBusError.get_remote_error(error), name)
        prefix = "GDBus.Error:%s: %s" % (name, mapi_prefix(code))
        self.assertTrue(error.message.startswith(prefix), error.message)


class GlibBindingTest(GlibTestCase):

    # docs/glib.md, mailspool_client_submit_bytes: SubmitData with the bytes and options
    def test_submit_bytes(self):
        text = make_message(subject="bytes, blocking")
        path = self.client.submit_bytes_sync(GLib.Bytes(text), on_demand(), None)
        self.assertTrue(path.startswith(MESSAGE_PREFIX), path)
        props = self.h.message_props(path)
        self.assertEqual((props["Subject"], props["State"], props["OnDemand"], props["Size"]),
                         ("bytes, blocking", "queued", True, len(text)))

        result = self.run_async(lambda cb: self.client.submit_bytes(
            GLib.Bytes(make_message(subject="bytes, async")), None, None, cb), "submit_bytes")
        path = self.client.submit_bytes_finish(result)
        props = self.h.message_props(path)
        self.assertEqual((props["Subject"], props["OnDemand"]), ("bytes, async", False))

    # docs/glib.md, mailspool_client_submit_file: a local file goes as its descriptor
    def test_submit_file(self):
        text = make_message(subject="from a file")
        calls = self.h.monitor("type='method_call',interface='%s'" % IFACE_SPOOLER)
        with tempfile.NamedTemporaryFile(dir=self.h.dir, suffix=".eml") as f:
            f.write(text)
            f.flush()
            gfile = Gio.File.new_for_path(f.name)
            result = self.run_async(lambda cb: self.client.submit_file(
                gfile, on_demand(), None, cb), "submit_file")
            paths = [self.client.submit_file_finish(result),
                     self.client.submit_file_sync(gfile, None, None)]
        self.assertNotEqual(paths[0], paths[1])
        calls.sync()
        self.assertEqual([m.get("member") for m in calls.found(lambda m: True)],
                         ["Submit", "Submit"], "the descriptor, not the bytes")
        for path, waits in zip(paths, (True, False)):
            props = self.h.message_props(path)
            self.assertEqual((props["Subject"], props["Size"], props["OnDemand"]),
                             ("from a file", len(text), waits))

    # docs/glib.md: a file GIO cannot read is the error of the read, nothing is submitted
    def test_submit_missing_file(self):
        missing = Gio.File.new_for_path(os.path.join(self.h.dir, "no-such.eml"))
        with self.assertRaises(GLib.Error) as caught:
            self.client.submit_file_sync(missing, None, None)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND))
        self.assertEqual(self.h.list_messages(), [])

    # docs/glib.md, mailspool_client_flush: progress to the callback (the last report
    # done == total), the result is FlushFinished's summary
    def test_flush_with_progress(self):
        paths = [self.client.submit_bytes_sync(GLib.Bytes(make_message(subject="m%d" % i)),
                                               on_demand(), None) for i in range(3)]
        monitor = self.h.monitor("type='signal',member='FlushFinished'")
        reports = []

        def progress(transport, done, total, text, *user_data):
            reports.append((transport, done, total, text))

        result = self.run_async(lambda cb: self.client.flush(
            target=None, flags=Mailspool.FlushFlags.UPLOAD, progress=progress,
            cancellable=None, callback=cb), "flush")
        summary = self.client.flush_finish(result).unpack()
        self.assertEqual((summary["sent"], summary["failed"], summary["errors"]), (3, 0, []))
        self.assertTrue(reports, "no progress report reached the callback")
        self.assertEqual(reports[-1][:3], (LOCAL, 3, 3), reports)
        self.assertTrue(all(r[2] == 3 for r in reports), reports)
        for path in paths:
            self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(len(self.h.maildir_files("local")), 3)
        finished = monitor.wait_for(lambda m: m.get("member") == "FlushFinished")
        target, flags, announced = signal_args(finished)
        self.assertEqual((target, flags), ("/", FLUSH_UPLOAD | FLUSH_ASYNC_OK))
        self.assertEqual(announced["sent"], summary["sent"])

    # docs/glib.md: the daemon's own errors are MailspoolDaemonError codes, with the name kept
    def test_flush_refused(self):
        result = self.run_async(lambda cb: self.client.flush(
            target=transport_path("nowhere"), flags=Mailspool.FlushFlags.UPLOAD,
            progress=None, cancellable=None, callback=cb), "flush")
        with self.assertRaises(GLib.Error) as caught:
            self.client.flush_finish(result)
        e = caught.exception
        self.assertTrue(e.matches(Mailspool.daemon_error_quark(), Mailspool.DaemonError.NOT_FOUND),
                        (e.domain, e.code, e.message))
        self.assertRemoteError(e, ERR_NOT_FOUND, harness.MAPI_E_NOT_FOUND)

    # docs/glib.md: bad input is G_DBUS_ERROR_INVALID_ARGS with the daemon's words
    def test_bad_message_is_invalid_args(self):
        with self.assertRaises(GLib.Error) as caught:
            self.client.submit_bytes_sync(GLib.Bytes(b"no header section at all"), None, None)
        e = caught.exception
        self.assertTrue(e.matches(Gio.DBusError.quark(), Gio.DBusError.INVALID_ARGS),
                        (e.domain, e.code, e.message))
        self.assertRemoteError(e, ERR_INVALID_ARGS, harness.MAPI_E_INVALID_PARAMETER)
        self.assertEqual(self.h.list_messages(), [])

    # docs/glib.md, mailspool_client_query_status_table: columns and a restriction
    def test_query_status_table_with_restriction(self):
        for resource_type, expected in ((MAPI_TRANSPORT_PROVIDER, [LOCAL]),
                                        (MAPI_SPOOLER, [SPOOLER_PATH])):
            restriction = GLib.Variant("a(ssv)", [("ResourceType", "==",
                                                   GLib.Variant("u", resource_type))])
            rows = self.client.query_status_table_sync(["EntryID", "ResourceType"],
                                                       restriction, None).unpack()
            self.assertEqual(rows, [{"EntryID": p, "ResourceType": resource_type}
                                    for p in expected])
        # A bit mask term, asynchronously: transports that flush themselves (none here).
        flushing = GLib.Variant("a(ssv)", [("ResourceType", "==", GLib.Variant("u", 36)),
                                           ("ResourceMethods", "&", GLib.Variant("u", 8))])
        result = self.run_async(lambda cb: self.client.query_status_table(
            None, flushing, None, cb), "query_status_table")
        self.assertEqual(self.client.query_status_table_finish(result).unpack(), [])
        # No columns, no restriction: every row with every column.
        rows = self.client.query_status_table_sync(None, None, None).unpack()
        self.assertEqual([r["EntryID"] for r in rows], [SPOOLER_PATH, LOCAL])
        self.assertEqual(len(rows[0]), 11)
        bad = GLib.Variant("a(ssv)", [("NoSuchColumn", "==", GLib.Variant("u", 1))])
        with self.assertRaises(GLib.Error) as caught:
            self.client.query_status_table_sync([], bad, None)
        self.assertRemoteError(caught.exception, ERR_INVALID_ARGS, harness.MAPI_E_BAD_COLUMN)

    # docs/glib.md: the proxies carry the properties; the client's status proxy is the spooler's
    def test_properties(self):
        self.assertEqual(self.client.get_spooler().props.transport_order, [LOCAL])
        self.assertEqual(self.client.get_status().props.resource_type, MAPI_SPOOLER)
        transport = Mailspool.TransportProxy.new_sync(
            self.client.get_connection(), Gio.DBusProxyFlags.NONE, harness.BUS_NAME, LOCAL, None)
        self.assertEqual((transport.props.id, transport.props.kind), ("local", "maildir"))

    # docs/glib.md, mailspool_client_new: the client made without blocking
    def test_new_without_blocking(self):
        result = self.run_async(lambda cb: Mailspool.Client.new(self.connection, None, cb),
                                "Client.new")
        client = Mailspool.Client.new_finish(result)
        self.assertEqual(client.get_spooler().props.version,
                         self.h.get_property(SPOOLER_PATH, IFACE_SPOOLER, "Version"))
        self.assertEqual(client.get_status().props.resource_type, MAPI_SPOOLER)
        self.assertIs(client.get_connection(), self.connection)

    # The library's own memory: glib-client.c makes every MailspoolClient call and
    # releases all; in a sanitizer build ASan's leak check at its exit fails it
    def test_c_program_releases_everything(self):
        # GLib's slice allocator would keep freed and lost blocks alike
        # reachable; with malloc for everything the leak check sees them.
        env = dict(self.h.client_env, G_SLICE="always-malloc", G_DEBUG="gc-friendly")
        p = subprocess.run([os.environ["GLIB_CLIENT"]], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout), (0, "ok\n"), p.stderr)
        self.assertEqual(len(self.h.maildir_files("local")), 2)

    # examples/send-and-flush.py on the session bus: submit, list, flush with progress
    def test_example_app(self):
        with tempfile.NamedTemporaryFile(dir=self.h.dir, suffix=".eml") as f:
            f.write(make_message(subject="from the example"))
            f.flush()
            env = dict(self.h.client_env)
            runtime = os.environ.get("MAILSPOOL_ASAN_RUNTIME")
            if runtime:
                env["LD_PRELOAD"] = runtime
                env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
            p = subprocess.run([SYSTEM_PYTHON, EXAMPLE, f.name], env=env, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        self.assertRegex(lines[0], r"^submitted .* as %s\d+$" % MESSAGE_PREFIX)
        self.assertRegex(lines[1], r"queued +local .* from the example$")
        self.assertEqual(lines[-2], "progress: 1 of 1 (local: 1 of 1 done (1 sent, 0 deferred, "
                                    "0 failed))")
        self.assertEqual(lines[-1], "sent 1, deferred 0, failed 0")


class GlibCancelTest(GlibTestCase):
    """A flush whose server never answers, cancelled through the GCancellable."""

    def setUp(self):
        # A server that takes the connection and says nothing: the message
        # stays in transit until the test closes it.
        self.server = socket.socket()
        self.addCleanup(self.server.close)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.CONFIG = {"transports.d/silent.conf":
                       "[Transport]\nKind=smtp\nServer=smtp://127.0.0.1:%d\n"
                       "SendMode=on-demand\n" % self.server.getsockname()[1]}
        super().setUp()

    def cancel_on_connection(self, cancellable):
        """Cancels once the daemon has connected to the server: the flush has
        started then. The connection stays open until the test ends."""
        def accept():
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed at the end of a test that failed earlier
                return
            self.addCleanup(conn.close)
            cancellable.cancel()
        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(self.server.shutdown, socket.SHUT_RDWR)

    # docs/glib.md, mailspool_client_flush: cancelling is CancelFlush of the flush's target
    def test_cancel_flush(self):
        path = self.client.submit_bytes_sync(GLib.Bytes(make_message()), None, None)
        calls = self.h.monitor("type='method_call',member='CancelFlush'")
        cancellable = Gio.Cancellable()
        self.cancel_on_connection(cancellable)
        result = self.run_async(lambda cb: self.client.flush(
            target=None, flags=Mailspool.FlushFlags.UPLOAD, progress=None,
            cancellable=cancellable, callback=cb), "flush")
        with self.assertRaises(GLib.Error) as caught:
            self.client.flush_finish(result)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.CANCELLED),
                        caught.exception.message)
        call = calls.wait_for(lambda m: m.get("member") == "CancelFlush")
        self.assertEqual(signal_args(call), ["/"])
        self.assertEqual(call.get("sender"), self.connection.get_unique_name())
        self.assertNotEqual(self.h.get_property(path, IFACE_MESSAGE, "State"), "sent")


if __name__ == "__main__":
    harness.main()
