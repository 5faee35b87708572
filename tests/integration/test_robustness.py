#!/usr/bin/env python3
"""D-Bus robustness of the running mailspoold: calls with wrong signatures,
huge arguments, unknown object paths, a caller that vanishes in the middle of a
synchronous FlushQueues, and a hundred clients at once. Each ends with the
named error docs/bus-api.md gives (or the reply it promises), and every test then checks
that the daemon still answers and finally stops cleanly (exit code 0: under
ASan a leak or an error changes it) with no sanitizer report in its log.

Calls whose argument list does not fit gdbus (one command-line argument is at
most 128 KiB) or that gdbus would retype from the introspection data (gdbus
turns a wrong-typed argument into the right type, or refuses to send it) go
through busctl, which sends exactly the signature it is given but prints only
an error's message; their error *name* is read from a `busctl monitor` of
error replies (ErrorWatch)."""

import concurrent.futures
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, CALL_TIMEOUT, ERR_INVALID_ARGS, ERR_NOT_FOUND, FLUSH_UPLOAD, IFACE_MESSAGE,
    IFACE_OBJECT_MANAGER, IFACE_PROPERTIES, IFACE_SPOOLER, IFACE_STATUS, IFACE_TRANSPORT,
    MAPI_E_BAD_COLUMN, MAPI_E_INVALID_PARAMETER, MAPI_E_NOT_FOUND, MAPI_E_TOO_COMPLEX,
    MESSAGE_PREFIX, ROOT_PATH, SPOOLER_PATH, STATUS_OUTBOUND_FLUSH, DaemonTestCase, V,
    make_message, mapi_prefix, transport_path)

LOCAL = transport_path("local")
OUT = transport_path("out")
ERR_UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
MAX_SIZE = 65536
CONFIG = {"mailspool.conf": "[Spooler]\nMaxMessageSize=%d\n" % MAX_SIZE,
          "transports.d/local.conf": "[Transport]\nKind=maildir\n"}
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|"
                              r"SUMMARY: \w+Sanitizer")


class ErrorWatch:
    """The D-Bus name of an error whose message busctl printed: a live
    `busctl monitor` of error replies, searched for that message."""

    def __init__(self, h):
        self.mon = h.monitor("type='error'")

    def name_of(self, message):
        self.mon.sync()
        hits = [m for m in self.mon.found(lambda m: m.get("type") == "error")
                if (m.get("payload", {}).get("data") or [None])[0] == message]
        if not hits:
            raise AssertionError("no error reply with the message %r was seen on the bus"
                                 % message)
        return hits[-1].get("error_name")


class RobustnessCase(DaemonTestCase):

    CONFIG = CONFIG

    def busctl_argv(self, path, iface, method, sig, args, timeout):
        argv = ["busctl", "--user", "--json=short", "--timeout=%d" % timeout, "call", "--",
                BUS_NAME, path, iface, method]
        if sig:
            argv.append(sig)
        return argv + [str(a) for a in args]

    def record(self, argv, rc, out, err):
        shown = argv[:12] + (["... (%d arguments)" % len(argv)] if len(argv) > 12 else [])
        self.h.transcript.append((shown, rc, out[:3000], err[:3000]))

    @staticmethod
    def failed_message(err):
        m = re.search(r"^Call failed: (.*)$", err, re.M)
        return m.group(1) if m else None

    def busctl(self, path, iface, method, sig, args, timeout=CALL_TIMEOUT):
        """busctl call with its arguments as strings, exactly as given.
        Returns (exit code, stdout, the error message or None, seconds)."""
        argv = self.busctl_argv(path, iface, method, sig, args, timeout)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               env=self.h.client_env, timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            self.fail("busctl %s did not finish within %ss" % (method, timeout + 10))
        took = time.monotonic() - t0
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        self.record(argv, p.returncode, out, err)
        return p.returncode, out, self.failed_message(err), took

    PROBE_BOUND = 1.0    # seconds: a Version read while the daemon works on a big call
    PROBE_TIMEOUT = 5    # busctl --timeout of one probe

    def probe(self):
        """One Version read by a new client: its duration in seconds (the
        probe's timeout if it got no answer)."""
        # (busctl get-property ignores --timeout; a call honours it.)
        argv = ["busctl", "--user", "--timeout=%d" % self.PROBE_TIMEOUT, "call", "--",
                BUS_NAME, SPOOLER_PATH, IFACE_PROPERTIES, "Get", "ss", IFACE_SPOOLER, "Version"]
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           env=self.h.client_env, timeout=self.PROBE_TIMEOUT + 10)
        took = time.monotonic() - t0
        if p.returncode != 0:
            return max(took, self.PROBE_TIMEOUT)
        return took

    def busctl_probed(self, path, iface, method, sig, args, timeout=CALL_TIMEOUT):
        """The busctl call in the background while other clients read Version
        one after another (docs/bus-api.md: "The event loop never blocks"). Asserts
        that every read was answered within PROBE_BOUND and that the call
        itself was answered within timeout; returns (exit code, stdout, the
        error message or None, seconds)."""
        argv = self.busctl_argv(path, iface, method, sig, args, timeout)
        out_path = os.path.join(self.h.dir, "logs", "big-call.out")
        err_path = os.path.join(self.h.dir, "logs", "big-call.err")
        with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
            t0 = time.monotonic()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f,
                                    env=self.h.client_env)
        probes = []
        while proc.poll() is None and max(probes, default=0) < self.PROBE_BOUND:
            probes.append(self.probe())
        if proc.poll() is None:
            # A daemon stuck in one call would keep SIGTERM waiting as long.
            proc.kill()
            proc.wait(5)
            self.addCleanup(self.kill_stuck_daemon)
        took = time.monotonic() - t0
        with open(out_path, errors="replace") as f:
            out = f.read()
        with open(err_path, errors="replace") as f:
            err = f.read()
        self.record(argv, proc.returncode, out, err)
        worst = max(probes, default=0)
        self.assertLess(worst, self.PROBE_BOUND,
                        "a Version read took %.2f s (or got no answer) while the daemon worked "
                        "on %s.%s with %d arguments: the event loop was blocked"
                        % (worst, iface, method, len(args)))
        if proc.returncode != 0 and took >= timeout:
            self.fail("%s.%s(%s) got no answer within %s s" % (iface, method, sig, timeout))
        return proc.returncode, out, self.failed_message(err), took

    def kill_stuck_daemon(self):
        if self.h.daemon is not None and self.h.daemon.poll() is None:
            self.h.daemon.kill()
            self.h.daemon.wait(5)

    def busctl_error(self, watch, path, iface, method, sig, args, timeout=CALL_TIMEOUT,
                     probed=False):
        """A busctl call that must fail with a D-Bus error: (name, message,
        seconds). probed: see busctl_probed."""
        call = self.busctl_probed if probed else self.busctl
        rc, out, message, took = call(path, iface, method, sig, args, timeout)
        if rc != 0 and took >= timeout:
            self.fail("%s.%s(%s) got no answer within %s s (%s)"
                      % (iface, method, sig, timeout, message))
        self.assertNotEqual(rc, 0, "%s.%s(%s) succeeded: %s" % (iface, method, sig, out[:300]))
        self.assertIsNotNone(message, "%s.%s(%s) failed without a D-Bus error (took %.1f s)"
                             % (iface, method, sig, took))
        return watch.name_of(message), message, took

    def assert_alive(self):
        """The daemon runs and answers a property read promptly."""
        self.assertIsNone(self.h.daemon.poll(), "mailspoold exited (%s)" % self.h.daemon.poll())
        t0 = time.monotonic()
        self.assertIsInstance(self.h.get_property(SPOOLER_PATH, IFACE_SPOOLER, "Version"), str)
        took = time.monotonic() - t0
        self.assertLess(took, 2.0, "a Version read took %.2f s" % took)

    def stop_clean(self):
        """SIGTERM: exit code 0 (under ASan a leak or a detected error makes it
        non-zero) and no sanitizer report in the log (docs/bus-api.md, command line:
        exit code 0 is a clean stop)."""
        log_path = self.h.daemon_log_path
        self.h.stop_daemon(expect_code=0)
        with open(log_path, errors="replace") as f:
            log = f.read()
        self.assertIsNone(SANITIZER_REPORT.search(log), "sanitizer report in the log:\n" + log)

    def hold(self, subject):
        return self.h.submit_data(make_message(subject=subject), {"OnDemand": V("b", True)})


class WrongSignatureTest(RobustnessCase):

    # docs/bus-api.md, Errors: InvalidArgs for bad arguments; a call whose arguments do
    # not have the method's signature is refused before it does anything (no
    # flush starts, nothing is stored, nothing is aborted) and the daemon
    # keeps serving
    def test_wrong_signatures_get_invalid_args(self):
        held = self.hold("held")
        watch = ErrorWatch(self.h)
        cases = [
            # (object, interface, method, signature sent, arguments)
            (SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "su", ["/", 2]),
            (SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "oi", ["/", 2]),
            (SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "o", ["/"]),
            (SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ouu", ["/", 2, 2]),
            (SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "", []),
            (SPOOLER_PATH, IFACE_STATUS, "ValidateState", "s", ["0"]),
            (SPOOLER_PATH, IFACE_STATUS, "ValidateState", "t", [0]),
            (LOCAL, IFACE_STATUS, "ChangePassword", "ss", ["a", "b"]),
            (SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "as", [0]),
            (SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "asa(ssu)",
             [0, 1, "RowID", "==", 0]),
            (SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "a(ssv)as", [0, 0]),
            (SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "sa{sv}",
             ["From: a@example.org\r\nTo: b@example.org\r\n\r\nx\r\n", 0]),
            (SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "ay", [3, 120, 120, 120]),
            (SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "aya{ss}", [1, 120, 1, "OnDemand", "yes"]),
            (SPOOLER_PATH, IFACE_SPOOLER, "Submit", "sa{sv}", ["/etc/hostname", 0]),
            (SPOOLER_PATH, IFACE_SPOOLER, "ListMessages", "a{ss}", [1, "State", "queued"]),
            (SPOOLER_PATH, IFACE_SPOOLER, "ListMessages", "as", [1, "State"]),
            (SPOOLER_PATH, IFACE_SPOOLER, "CancelFlush", "s", ["/"]),
            (held, IFACE_MESSAGE, "Abort", "u", [1]),
            (SPOOLER_PATH, IFACE_PROPERTIES, "Get", "s", [IFACE_STATUS]),
            (ROOT_PATH, IFACE_OBJECT_MANAGER, "GetManagedObjects", "s", ["x"]),
        ]
        for path, iface, method, sig, args in cases:
            with self.subTest(method=method, sig=sig):
                name, message, _ = self.busctl_error(watch, path, iface, method, sig, args)
                self.assertEqual(name, ERR_INVALID_ARGS, message)
                self.assert_alive()
        # Nothing happened: the held message was neither flushed nor aborted,
        # and no submission was stored.
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "queued")
        self.assertEqual([r[0] for r in self.h.list_messages()], [held])
        self.assertEqual(self.h.maildir_files("local"), [])
        self.stop_clean()


class HugeArgumentsTest(RobustnessCase):

    COLUMNS = ["EntryID", "RowID", "ObjectType", "ResourceType", "DisplayName",
               "ProviderDisplay", "ResourceMethods", "ResourceFlags", "StatusCode",
               "StatusString", "IdentityDisplay"]
    BOUND = 10  # seconds for one big call; a daemon linear in its input needs well under one

    # docs/bus-api.md, Spooler.QueryStatusTable: unknown column -> InvalidArgs naming
    # MAPI_E_BAD_COLUMN, here the last of 100 000 (a 1 MB call); "the event
    # loop never blocks": other clients are answered while it is read
    def test_query_status_table_100000_columns(self):
        watch = ErrorWatch(self.h)
        n = 100_000
        columns = [self.COLUMNS[i % len(self.COLUMNS)] for i in range(n - 1)] + ["NoSuchColumn"]
        name, message, took = self.busctl_error(watch, SPOOLER_PATH, IFACE_SPOOLER,
                                                "QueryStatusTable", "asa(ssv)",
                                                [n] + columns + [0], timeout=self.BOUND,
                                                probed=True)
        self.assertEqual(name, ERR_INVALID_ARGS, message)
        self.assertTrue(message.startswith(mapi_prefix(MAPI_E_BAD_COLUMN)), message)
        self.assertIn('"NoSuchColumn"', message)
        self.assertLess(took, self.BOUND)
        self.assert_alive()
        self.stop_clean()

    # docs/bus-api.md, Spooler.QueryStatusTable: the columns select what each row
    # holds; naming a column many times selects it once (a row is a dict)
    def test_query_status_table_repeated_columns(self):
        n = 2000
        columns = [self.COLUMNS[i % len(self.COLUMNS)] for i in range(n)]
        rc, out, message, took = self.busctl(SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable",
                                             "asa(ssv)", [n] + columns + [0], timeout=self.BOUND)
        self.assertEqual(rc, 0, message)
        self.assertLess(took, self.BOUND)
        # busctl prints the dict entries as they came; JSON parsing would
        # hide a repeated key, so they are counted in the text.
        self.assertEqual(out.count('"StatusCode":'), 2, "once per row (spooler, local)")
        self.assertEqual(out.count('"EntryID":'), 2)
        self.assert_alive()
        self.stop_clean()

    # docs/bus-api.md, QueryStatusTable: the restriction is an AND; an unknown op ->
    # InvalidArgs naming MAPI_E_TOO_COMPLEX, even after thousands of good terms
    def test_restriction_with_thousands_of_terms(self):
        watch = ErrorWatch(self.h)
        n = 5000
        terms = []
        for i in range(n):
            terms += ["RowID", ">=", "u", 0]
        # All hold, then one that only the transport row meets.
        rc, out, message, took = self.busctl(
            SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "asa(ssv)",
            [1, "EntryID", n + 1] + terms + ["ResourceType", "==", "u", 36], timeout=self.BOUND)
        self.assertEqual(rc, 0, message)
        self.assertEqual(out.count('"EntryID":'), 1, out[:300])
        self.assertIn(LOCAL, out)
        name, message, _ = self.busctl_error(
            watch, SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "asa(ssv)",
            [0, n + 1] + terms + ["RowID", "~=", "u", 0], timeout=self.BOUND)
        self.assertEqual(name, ERR_INVALID_ARGS, message)
        self.assertTrue(message.startswith(mapi_prefix(MAPI_E_TOO_COMPLEX)), message)
        self.assert_alive()
        self.stop_clean()

    # docs/bus-api.md, Spooler.ListMessages: filter keys State, Transport, Direction;
    # a filter of thousands of (repeated) keys is read whole, and an unknown
    # key at its end -> InvalidArgs naming it
    def test_list_filter_with_thousands_of_keys(self):
        held = self.hold("listed")
        watch = ErrorWatch(self.h)
        n = 5000
        keys = []
        for i in range(n):
            keys += ["State", "s", "queued"]
        rc, out, message, _ = self.busctl(SPOOLER_PATH, IFACE_SPOOLER, "ListMessages", "a{sv}",
                                          [n + 1] + keys + ["Transport", "o", LOCAL])
        self.assertEqual(rc, 0, message)
        self.assertIn(held, out)
        name, message, _ = self.busctl_error(watch, SPOOLER_PATH, IFACE_SPOOLER, "ListMessages",
                                             "a{sv}", [n + 1] + keys + ["Colour", "s", "red"])
        self.assertEqual(name, ERR_INVALID_ARGS, message)
        self.assertTrue(message.startswith(mapi_prefix(MAPI_E_INVALID_PARAMETER)), message)
        self.assertIn('"Colour"', message)
        self.assert_alive()
        self.stop_clean()

    # docs/bus-api.md, Spooler.SubmitData: Recipients as (the envelope); "The event
    # loop never blocks": 20 000 envelope recipients (a 400 KB call) are
    # answered promptly, stored (all of them, in order) or refused with a
    # named error, and the daemon goes on serving
    def test_submit_data_with_20000_recipients(self):
        watch = ErrorWatch(self.h)
        n = 20_000
        raw = make_message(subject="many recipients")
        recipients = ["r%05d@example.org" % i for i in range(n)]
        args = [len(raw)] + list(raw) + [2, "OnDemand", "b", "true", "Recipients", "as", n] + recipients
        rc, out, message, _ = self.busctl_probed(SPOOLER_PATH, IFACE_SPOOLER, "SubmitData",
                                                 "aya{sv}", args, timeout=self.BOUND)
        if rc == 0:
            (path,) = json.loads(out)["data"]
            self.assertEqual(self.h.get_property(path, IFACE_MESSAGE, "Recipients"), recipients)
        else:
            self.assertIsNotNone(message)
            self.assertEqual(watch.name_of(message), ERR_INVALID_ARGS, message)
            self.assertEqual(self.h.list_messages(), [], "nothing half-stored")
        self.assert_alive()
        self.stop_clean()

    # docs/bus-api.md, Spooler.SubmitData and MaxMessageSize: a larger submission gets
    # InvalidArgs naming what is wrong; nothing half-stored
    def test_submit_data_far_over_max_message_size(self):
        self.need_gdbus()
        raw = make_message(subject="too big", body="y" * 70 + "\n")
        raw += b"z" * (120_000 - len(raw))
        # A GVariant bytestring literal: 120 000 bytes fit one argument of
        # gdbus (its list form [120, 121, ...] would not).
        literal = "b'" + raw.decode().replace("\\", "\\\\").replace("'", "\\'") \
            .replace("\r", "\\r").replace("\n", "\\n") + "'"
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path", SPOOLER_PATH,
                "--method", IFACE_SPOOLER + ".SubmitData", "--timeout", str(CALL_TIMEOUT),
                "@ay " + literal, "@a{sv} {}"]
        rc, out, err = self.h._run(argv)
        self.assertNotEqual(rc, 0, out)
        e = harness.parse_gdbus_error(err)
        self.assertIsNotNone(e, err[:500])
        self.assertBusError(e, ERR_INVALID_ARGS, MAPI_E_INVALID_PARAMETER)
        # (gdbus ends a bytestring literal with a NUL: 120 001 bytes arrive.)
        self.assertRegex(e.message, r"\b12000[01] bytes\b")
        self.assertIn("MaxMessageSize", e.message)
        self.assertEqual(self.h.list_messages(), [], "nothing half-stored")
        self.assert_alive()
        self.stop_clean()

    # docs/bus-api.md, Spooler.Submit: oversized input -> InvalidArgs; a pipe that
    # never ends is read only up to MaxMessageSize, not forever
    def test_submit_endless_pipe(self):
        self.need_gdbus()
        r, w = os.pipe()
        os.set_blocking(w, False)
        stop = threading.Event()
        written = [0]

        def feed():
            chunk = make_message(subject="endless") + b"a" * 65536
            while not stop.is_set():
                _, ready, _ = select.select([], [w], [], 0.1)
                if not ready:
                    continue
                try:
                    written[0] += os.write(w, chunk)
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    return

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "Submit", "ha{sv}", r, {},
                                    pass_fds=(r,))
        finally:
            stop.set()
            feeder.join(5)
            os.close(r)
            os.close(w)
        self.assertBusError(err, ERR_INVALID_ARGS, MAPI_E_INVALID_PARAMETER)
        self.assertIn("MaxMessageSize", err.message)
        self.assertEqual(self.h.list_messages(), [], "nothing half-stored")
        self.assert_alive()
        self.stop_clean()


class UnknownObjectTest(RobustnessCase):

    def assert_unknown(self, err, path):
        """docs/bus-api.md, Errors: NotFound is "no such transport or message"; the bus
        library's own answer for a path nothing lives at is UnknownObject.
        Either is a named error; an api error carries its MAPI code."""
        known = (ERR_UNKNOWN_OBJECT, ERR_NOT_FOUND)
        if path == ROOT_PATH + "/message":
            # A node (Introspect lists the caller's messages under it), without
            # the Message interface.
            known += ("org.freedesktop.DBus.Error.UnknownMethod",)
        self.assertIn(err.name, known, "%s: %s: %s" % (path, err.name, err.message))
        if err.name == ERR_NOT_FOUND:
            self.assertBusError(err, ERR_NOT_FOUND, MAPI_E_NOT_FOUND)

    # docs/bus-api.md, Names and Errors: messages live at /message/<n>, transports at
    # /transport/<id>; a path with no object behind it gets a named error,
    # is never an alias of another object, and changes nothing
    def test_unknown_object_paths(self):
        self.need_gdbus()
        held = self.hold("kept")
        self.assertEqual(held, MESSAGE_PREFIX + "1")
        calls = [
            (MESSAGE_PREFIX + "999999", IFACE_MESSAGE, "Abort", "", ()),
            (MESSAGE_PREFIX + "999999", IFACE_PROPERTIES, "Get", "ss", (IFACE_MESSAGE, "State")),
            (MESSAGE_PREFIX + "999999", IFACE_PROPERTIES, "GetAll", "s", (IFACE_MESSAGE,)),
            # Not aliases of message 1:
            (MESSAGE_PREFIX + "01", IFACE_MESSAGE, "Abort", "", ()),
            (MESSAGE_PREFIX + "0", IFACE_PROPERTIES, "Get", "ss", (IFACE_MESSAGE, "State")),
            (MESSAGE_PREFIX + "1/x", IFACE_MESSAGE, "Abort", "", ()),
            (MESSAGE_PREFIX + "18446744073709551617", IFACE_MESSAGE, "Abort", "", ()),
            (ROOT_PATH + "/message", IFACE_MESSAGE, "Abort", "", ()),
            (transport_path("nope"), IFACE_STATUS, "FlushQueues", "ou", ("/", FLUSH_UPLOAD)),
            (transport_path("nope"), IFACE_PROPERTIES, "Get", "ss", (IFACE_STATUS, "StatusCode")),
            (transport_path("nope"), IFACE_STATUS, "ValidateState", "u", (0,)),
            (transport_path("local") + "/x", IFACE_STATUS, "ValidateState", "u", (0,)),
            (ROOT_PATH + "/transport", IFACE_PROPERTIES, "GetAll", "s", (IFACE_TRANSPORT,)),
        ]
        for path, iface, method, sig, args in calls:
            with self.subTest(path=path, method=method):
                err = self.h.call_error(path, iface, method, sig, *args)
                self.assert_unknown(err, path)
                self.assert_alive()
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "queued",
                         "no alias of message 1 aborted it")
        self.stop_clean()

    # docs/bus-api.md, Errors: NotFound = "no such transport or message". A message
    # number beyond what the store can hold (2^63 and up, still a valid
    # unsigned 64-bit number) names no message either: the answer must not
    # be a store failure (MAPI_E_DISK_ERROR, which docs/bus-api.md does not list).
    def test_message_numbers_beyond_the_store(self):
        self.need_gdbus()
        for n in ("9223372036854775808", "18446744073709551615"):
            with self.subTest(n=n):
                path = MESSAGE_PREFIX + n
                err = self.h.call_error(path, IFACE_PROPERTIES, "Get", "ss", IFACE_MESSAGE,
                                        "State")
                self.assert_unknown(err, path)
                self.assert_alive()
        self.stop_clean()


class CallerVanishesTest(RobustnessCase):
    """An on-demand smtp transport, one connection, smtp-sink waiting 1 s
    before answering DATA: a flush of N messages lasts about N seconds."""

    N = 4
    CONFIG = None
    START = False

    def setUp(self):
        if not sink.available():
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        super().setUp()
        self.sink = sink.SmtpSink(("-w", "1"))
        self.addCleanup(self.sink.close)
        self.h.write_config({"transports.d/out.conf":
                             "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                             "SendMode=on-demand\nMaxConnections=1\n" % self.sink.url})
        self.h.start()

    # docs/bus-api.md, FlushQueues: synchronous, the reply comes when every message
    # queued at the call's start has an outcome; FlushProgress goes to the
    # caller. A caller that disconnects meanwhile takes neither the flush nor
    # the daemon down: every message still reaches the server once, the bits
    # fall, and the next flush is not refused as Busy.
    def test_caller_disconnects_during_synchronous_flush(self):
        self.need_gdbus()
        ids = ["vanish-%d@example.org" % i for i in range(self.N)]
        paths = [self.h.submit_data(make_message(subject="vanish %d" % i, message_id=ids[i]))
                 for i in range(self.N)]
        # Without FLUSH_NO_UI: the daemon also sends FlushProgress to the
        # caller that is about to vanish.
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path", OUT,
                "--method", IFACE_STATUS + ".FlushQueues", "--timeout", "120",
                "/", "uint32 %d" % FLUSH_UPLOAD]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.h.client_env)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: c & STATUS_OUTBOUND_FLUSH)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        self.assertLess(self.sink.count(), self.N, "the caller vanished before the flush ended")

        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: not c & STATUS_OUTBOUND_FLUSH,
                                 timeout=self.N * 5 + 15)
        self.assert_alive()
        got = [re.search(r"(?im)^message-id:\s*<([^>]*)>", m["headers"]).group(1)
               for m in self.sink.messages()]
        self.assertEqual(sorted(got), sorted(ids), "every message reached the server, once")
        for p in paths:
            self.assertEqual(self.h.get_property(p, IFACE_MESSAGE, "State"), "sent")
        summary = self.h.flush("/", FLUSH_UPLOAD, path=OUT)
        self.assertEqual(summary["sent"], 0, summary)
        self.assertEqual(self.sink.count(), self.N)
        self.stop_clean()


class ConcurrentClientsTest(RobustnessCase):

    CLIENTS = 100

    # docs/bus-api.md, Spooler.SubmitData: the reply comes after the message is
    # durably stored, and names that message; ListMessages lists it; status
    # reads are served meanwhile. A hundred clients at once: every one gets
    # its own message back, none an error.
    def test_hundred_clients_submit_and_read(self):
        barrier = threading.Barrier(self.CLIENTS)

        def client(i):
            barrier.wait(timeout=60)
            subject = "client %03d" % i
            path = self.h.submit_data(make_message(subject=subject,
                                                   message_id="client-%03d@example.org" % i))
            code = self.h.get_property(SPOOLER_PATH, IFACE_STATUS, "StatusCode")
            rows = self.h.query_status_table(["EntryID", "StatusCode"])
            mine = self.h.get_property(path, IFACE_MESSAGE, "Subject")
            return i, path, mine, code, rows

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.CLIENTS) as pool:
            futures = [pool.submit(client, i) for i in range(self.CLIENTS)]
            results, errors = [], []
            for f in futures:
                try:
                    results.append(f.result(timeout=120))
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    errors.append(repr(e))
        self.assertEqual(errors, [], "%d of %d clients failed" % (len(errors), self.CLIENTS))
        paths = {}
        for i, path, subject, code, rows in results:
            self.assertEqual(subject, "client %03d" % i, "client %d got another's message" % i)
            self.assertIsInstance(code, int)
            self.assertEqual([r["EntryID"] for r in rows], [SPOOLER_PATH, LOCAL])
            paths[path] = subject
        self.assertEqual(len(paths), self.CLIENTS, "one message path per submission")

        listed = {row[0]: row[3] for row in self.h.list_messages()}
        self.assertEqual(listed, paths, "ListMessages lists every message with its subject")
        # The maildir transport delivers them all, one file each.
        self.h.wait_for("every message delivered", lambda: all(
            row[1] == "sent" for row in self.h.list_messages()), timeout=60)
        self.assertEqual(len(self.h.maildir_files("local")), self.CLIENTS)
        self.assert_alive()
        self.stop_clean()


if __name__ == "__main__":
    harness.main()
