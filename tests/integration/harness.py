"""Integration-test harness of mailspool: the real mailspoold on a private bus.

Every test gets its own temporary directory, its own dbus-daemon (configured by
bus.conf beside this file, listening on a socket inside that directory, with no
service directories so nothing is ever bus-activated) and its own mailspoold:

    MAILSPOOLD --session --config-dir TMP/config --state-dir TMP/state --log-level debug

started with NOTIFY_SOCKET pointing at a datagram socket of the harness, which
waits (bounded) for READY=1. The daemon's stderr goes to TMP/logs/mailspoold.N.log
(one file per start) and is printed, with the bus calls the test made, when a
test fails.

How the tests talk to the bus (only the Python standard library is used):

* ``busctl --user --json=short`` for calls and properties (Harness.call,
  get_property, wait_for_property). busctl prints only an error's *message*
  ("Call failed: ..."), never its D-Bus error *name*, and it cannot pass a Unix
  file descriptor ('h': "UNIX file descriptor not supported as type").
* ``gdbus call`` (Debian package libglib2.0-bin) where those two are needed:
  Harness.call_error returns the BusError of a call that must fail, with the
  name and message that gdbus prints ("GDBus.Error:NAME: MESSAGE"); and
  Harness.submit_fd passes a descriptor, because gdbus call sends an '@h N'
  argument as the descriptor N of its own process (SCM_RIGHTS).
* ``busctl --user monitor --json=short --match=...`` for signals
  (SignalMonitor). A monitor is made live first: the harness emits marker
  signals with ``busctl --user emit`` until the monitor has printed one, and only
  then does the test trigger anything. SignalMonitor.sync() uses a new marker to
  know that everything sent before it has been seen (for "no such signal"
  assertions).

Rules kept here and in the tests: no sleep is used as synchronisation; every
wait is bounded (a property is polled with a short interval up to a deadline);
temporary directories and processes are removed even when a test fails.

Environment: MAILSPOOLD (the daemon to test; required), INTERFACES_DIR (the
introspection XML; default ../../interfaces). Run one file with
``MAILSPOOLD=build/service/mailspoold python3 tests/integration/test_flush.py``,
one test with ``... test_flush.py FlushTest.test_name``. Exit code 77 (meson's
"skipped") when the daemon or a needed tool is missing.
"""

import atexit
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))

# --- The bus contract (docs/bus-api.md, "Names" and "Constants") -----------------

BUS_NAME = "org.mailspool.Spool1"
ROOT_PATH = "/org/mailspool/Spool1"
SPOOLER_PATH = ROOT_PATH + "/spooler"
TRANSPORT_PREFIX = ROOT_PATH + "/transport/"
MESSAGE_PREFIX = ROOT_PATH + "/message/"

IFACE_STATUS = "org.mailspool.Spool1.Status"
IFACE_SPOOLER = "org.mailspool.Spool1.Spooler"
IFACE_TRANSPORT = "org.mailspool.Spool1.Transport"
IFACE_MESSAGE = "org.mailspool.Spool1.Message"
IFACE_PROPERTIES = "org.freedesktop.DBus.Properties"
IFACE_INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
IFACE_OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"

ERR_PREFIX = "org.mailspool.Spool1.Error."
ERR_BUSY = ERR_PREFIX + "Busy"
ERR_NO_SUPPORT = ERR_PREFIX + "NoSupport"
ERR_NOT_FOUND = ERR_PREFIX + "NotFound"
ERR_LOGON_FAILED = ERR_PREFIX + "LogonFailed"
ERR_NETWORK_ERROR = ERR_PREFIX + "NetworkError"
ERR_CANCELLED = ERR_PREFIX + "Cancelled"
ERR_NOT_QUEUED = ERR_PREFIX + "NotQueued"
ERR_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
ERR_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"

# MAPI code of each error (docs/bus-api.md, "Errors").
MAPI_E_BUSY = ("MAPI_E_BUSY", 0x8004010B)
MAPI_E_NO_SUPPORT = ("MAPI_E_NO_SUPPORT", 0x80040102)
MAPI_E_NOT_FOUND = ("MAPI_E_NOT_FOUND", 0x8004010F)
MAPI_E_UNABLE_TO_ABORT = ("MAPI_E_UNABLE_TO_ABORT", 0x80040114)
MAPI_E_BAD_COLUMN = ("MAPI_E_BAD_COLUMN", 0x80040118)
MAPI_E_TOO_COMPLEX = ("MAPI_E_TOO_COMPLEX", 0x80040117)
MAPI_E_UNKNOWN_FLAGS = ("MAPI_E_UNKNOWN_FLAGS", 0x80040106)
MAPI_E_INVALID_PARAMETER = ("MAPI_E_INVALID_PARAMETER", 0x80070057)

FLUSH_UPLOAD = 0x02
FLUSH_DOWNLOAD = 0x04
FLUSH_FORCE = 0x08
FLUSH_NO_UI = 0x10
FLUSH_ASYNC_OK = 0x20

STATUS_VALIDATE_STATE = 0x1
STATUS_SETTINGS_DIALOG = 0x2
STATUS_CHANGE_PASSWORD = 0x4
STATUS_FLUSH_QUEUES = 0x8

STATUS_AVAILABLE = 0x1
STATUS_OFFLINE = 0x2
STATUS_FAILURE = 0x4
STATUS_INBOUND_ENABLED = 0x10000
STATUS_INBOUND_ACTIVE = 0x20000
STATUS_INBOUND_FLUSH = 0x40000
STATUS_OUTBOUND_ENABLED = 0x100000
STATUS_OUTBOUND_ACTIVE = 0x200000
STATUS_OUTBOUND_FLUSH = 0x400000
STATUS_REMOTE_ACCESS = 0x800000

STATUS_DEFAULT_OUTBOUND = 0x1  # ResourceFlags

MAPI_TRANSPORT_PROVIDER = 36
MAPI_SPOOLER = 37

SUPPRESS_UI = 0x1
REFRESH_XP_HEADER_CACHE = 0x10000
PROCESS_XP_HEADER_CACHE = 0x20000
FORCE_XP_CONNECT = 0x40000
FORCE_XP_DISCONNECT = 0x80000
CONFIG_CHANGED = 0x100000

# Bounds of every wait (seconds). Generous: the daemon may run under ASan.
# MAILSPOOL_TEST_TIMEOUT_SCALE multiplies them (valgrind runs ~20x slower).
_SCALE = float(os.environ.get("MAILSPOOL_TEST_TIMEOUT_SCALE", "1"))
READY_TIMEOUT = 30 * _SCALE
STOP_TIMEOUT = 20 * _SCALE
CALL_TIMEOUT = int(10 * _SCALE)  # a bus call (a maildir flush is quick, even under ASan)
WAIT_TIMEOUT = 15 * _SCALE
POLL_INTERVAL = 0.05


def transport_path(transport_id):
    """Object path of a transport: its id escaped as sd_bus_path_encode() does
    (every byte but [A-Za-z0-9] as _XX)."""
    return TRANSPORT_PREFIX + "".join(
        c if c.isascii() and c.isalnum() else "_%02x" % ord(c) for c in transport_id)


class HarnessError(Exception):
    """The test environment itself failed (bus, daemon start, tool)."""


class BusError(Exception):
    """A D-Bus error reply. name is None when it came through busctl, which does
    not print error names (use Harness.call_error to get it)."""

    def __init__(self, name, message):
        super().__init__("%s: %s" % (name or "<error name not shown by busctl>", message))
        self.name = name
        self.message = message


class Variant:
    """A D-Bus variant 'v' for arguments: Variant('u', 37)."""

    def __init__(self, sig, value):
        self.sig = sig
        self.value = value

    def __repr__(self):
        return "Variant(%r, %r)" % (self.sig, self.value)


V = Variant


# --- D-Bus signatures and the two argument syntaxes --------------------------

def _complete_end(sig, i):
    c = sig[i]
    if c == "a":
        return _complete_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        depth = 0
        j = i
        while j < len(sig):
            if sig[j] in "({":
                depth += 1
            elif sig[j] in ")}":
                depth -= 1
                if depth == 0:
                    if sig[j] != close:
                        raise ValueError("bad signature %r" % sig)
                    return j + 1
            j += 1
        raise ValueError("bad signature %r" % sig)
    return i + 1


def split_signature(sig):
    """'asa(ssv)' -> ['as', 'a(ssv)']"""
    out = []
    i = 0
    while i < len(sig):
        j = _complete_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _busctl_arg(sig, value, out):
    c = sig[0]
    if c == "b":
        out.append("true" if value else "false")
    elif c in "ynqiuxt":
        out.append(str(int(value)))
    elif c == "d":
        out.append(repr(float(value)))
    elif c in "sog":
        out.append(str(value))
    elif c == "h":
        raise HarnessError("busctl cannot pass a file descriptor; use Harness.submit_fd (gdbus)")
    elif c == "v":
        if not isinstance(value, Variant):
            raise TypeError("a 'v' argument needs a Variant, got %r" % (value,))
        out.append(value.sig)
        _busctl_arg(value.sig, value.value, out)
    elif c == "a":
        elem = sig[1:]
        if elem[0] == "{":
            ksig, vsig = split_signature(elem[1:-1])
            out.append(str(len(value)))
            for k, v in value.items():
                _busctl_arg(ksig, k, out)
                _busctl_arg(vsig, v, out)
        else:
            out.append(str(len(value)))
            for x in value:
                _busctl_arg(elem, x, out)
    elif c == "(":
        parts = split_signature(sig[1:-1])
        if len(parts) != len(value):
            raise TypeError("struct %s needs %d fields, got %r" % (sig, len(parts), value))
        for p, x in zip(parts, value):
            _busctl_arg(p, x, out)
    else:
        raise ValueError("unsupported type %r" % sig)


def busctl_args(sig, args):
    """Python values -> busctl's command-line form of a message body."""
    out = []
    types = split_signature(sig)
    if len(types) != len(args):
        raise TypeError("signature %r needs %d arguments, got %d" % (sig, len(types), len(args)))
    for t, a in zip(types, args):
        _busctl_arg(t, a, out)
    return out


def _gv_string(s):
    out = ["'"]
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


def _gv(sig, value):
    c = sig[0]
    if c == "b":
        return "true" if value else "false"
    if c in "ynqiuxth":
        return str(int(value))
    if c == "d":
        return repr(float(value))
    if c in "sog":
        return _gv_string(str(value))
    if c == "v":
        if not isinstance(value, Variant):
            raise TypeError("a 'v' argument needs a Variant, got %r" % (value,))
        return "<@%s %s>" % (value.sig, _gv(value.sig, value.value))
    if c == "a":
        elem = sig[1:]
        if elem[0] == "{":
            ksig, vsig = split_signature(elem[1:-1])
            return "{" + ", ".join("%s: %s" % (_gv(ksig, k), _gv(vsig, v))
                                   for k, v in value.items()) + "}"
        return "[" + ", ".join(_gv(elem, x) for x in value) + "]"
    if c == "(":
        parts = split_signature(sig[1:-1])
        items = [_gv(p, x) for p, x in zip(parts, value)]
        if len(items) == 1:
            return "(" + items[0] + ",)"
        return "(" + ", ".join(items) + ")"
    raise ValueError("unsupported type %r" % sig)


def gvariant_args(sig, args):
    """Python values -> gdbus call's arguments (GVariant text, each typed)."""
    types = split_signature(sig)
    if len(types) != len(args):
        raise TypeError("signature %r needs %d arguments, got %d" % (sig, len(types), len(args)))
    return ["@%s %s" % (t, _gv(t, a)) for t, a in zip(types, args)]


def decode(sig, data):
    """busctl's JSON of one value of type sig -> plain Python (variants
    unwrapped, structs as tuples, 'ay' as bytes)."""
    c = sig[0]
    if c == "v":
        return decode(data["type"], data["data"])
    if c == "a":
        elem = sig[1:]
        if elem[0] == "{":
            ksig, vsig = split_signature(elem[1:-1])
            return {(k if ksig in "sog" else decode(ksig, json.loads(k))): decode(vsig, v)
                    for k, v in data.items()}
        if elem == "y":
            return bytes(data)
        return [decode(elem, x) for x in data]
    if c == "(":
        parts = split_signature(sig[1:-1])
        return tuple(decode(p, x) for p, x in zip(parts, data))
    return data


def mapi_prefix(code):
    """('MAPI_E_BUSY', 0x8004010B) -> 'MAPI_E_BUSY (0x8004010B):' (docs/bus-api.md, Errors)."""
    return "%s (0x%08X):" % code


def parse_gdbus_error(stderr):
    """gdbus call prints 'Error: GDBus.Error:NAME: MESSAGE' (and for InvalidArgs
    maybe a '(According to introspection data, ...)' line after it)."""
    m = re.search(r"GDBus\.Error:([A-Za-z0-9_.]+): (.*)", stderr, re.S)
    if not m:
        return None
    message = m.group(2)
    message = re.sub(r"\n\(According to introspection data.*", "", message, flags=re.S)
    return BusError(m.group(1), message.rstrip("\n"))


# --- Signals -------------------------------------------------------------------

class SignalMonitor:
    """busctl monitor in the background; collects the messages that match.

    Created by Harness.monitor(), which returns it only once it is live."""

    MARKER_PATH = "/org/mailspool/IntegrationTest"
    MARKER_IFACE = "org.mailspool.IntegrationTest"

    def __init__(self, harness, matches):
        self.h = harness
        self.matches = list(matches)
        self.messages = []
        self.cond = threading.Condition()
        self.stderr_path = os.path.join(harness.dir, "logs", "monitor-%s.err" % uuid.uuid4().hex[:8])
        argv = ["busctl", "--user", "monitor", "--json=short"]
        argv += ["--match=" + m for m in self.matches]
        argv.append("--match=type='signal',interface='%s'" % self.MARKER_IFACE)
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=harness.client_env)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.messages.append(msg)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _is_marker(self, msg, token):
        return (msg.get("interface") == self.MARKER_IFACE and
                msg.get("payload", {}).get("data") == [token])

    def sync(self, timeout=WAIT_TIMEOUT):
        """Emit a new marker signal and wait until the monitor shows it: every
        message the bus routed before it has then been seen. The first marker
        may be emitted before the monitor is attached, so emit again until one
        is seen (each wait bounded; overall bound `timeout`)."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while True:
            self.h._run(["busctl", "--user", "emit", self.MARKER_PATH, self.MARKER_IFACE,
                         "Marker", "s", token], check=True, record=False)
            step_end = min(deadline, time.monotonic() + 0.25)
            with self.cond:
                while True:
                    if any(self._is_marker(m, token) for m in self.messages):
                        return
                    if self.proc.poll() is not None:
                        raise HarnessError("busctl monitor exited (%s): %s" %
                                           (self.proc.returncode, self._stderr()))
                    left = step_end - time.monotonic()
                    if left <= 0:
                        break
                    self.cond.wait(left)
            if time.monotonic() >= deadline:
                raise HarnessError("busctl monitor did not show the marker signal within %ss: %s"
                                   % (timeout, self._stderr()))

    def _stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def found(self, predicate):
        """The messages seen so far that satisfy predicate (markers excluded)."""
        with self.cond:
            return [m for m in self.messages
                    if m.get("interface") != self.MARKER_IFACE and predicate(m)]

    def wait_for(self, predicate, timeout=WAIT_TIMEOUT, what="a matching message"):
        """The first message that satisfies predicate; waits at most timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages:
                    if m.get("interface") != self.MARKER_IFACE and predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self.cond.wait(left)
        raise AssertionError("no %s within %ss; seen: %s" %
                             (what, timeout, json.dumps(self.found(lambda m: True))[:4000]))

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.thread.join(5)
        self.proc.stdout.close()
        self._err.close()


def signal_args(msg):
    """The decoded body of a monitored message."""
    payload = msg.get("payload", {})
    sig = payload.get("type", "")
    data = payload.get("data", [])
    return [decode(t, d) for t, d in zip(split_signature(sig), data)]


def is_properties_changed(path, iface=None):
    def pred(m):
        if m.get("type") != "signal" or m.get("member") != "PropertiesChanged":
            return False
        if m.get("interface") != IFACE_PROPERTIES or m.get("path") != path:
            return False
        return iface is None or signal_args(m)[0] == iface
    return pred


# --- The harness -------------------------------------------------------------------

# Harnesses not yet closed: closed by the SIGTERM handler of main() (meson
# sends SIGTERM on a timeout) and at exit, so no bus, daemon or directory is
# left behind even when a test run is cut short.
_LIVE = set()


def close_all_harnesses():
    for h in list(_LIVE):
        try:
            h.close()
        except Exception:  # noqa: BLE001 - cleanup goes on
            pass


atexit.register(close_all_harnesses)


class Harness:
    """A temporary directory, a private dbus-daemon, and mailspoold on it.

    config: None -> no config dir (the built-in default: transport 'local');
    else a dict {relative path in the config dir: file text}, e.g.
    {'transports.d/local.conf': '[Transport]\\nKind=maildir\\n'}."""

    def __init__(self, config=None):
        self.daemon_bin = os.environ.get("MAILSPOOLD")
        if not self.daemon_bin:
            raise HarnessError("MAILSPOOLD is not set (path of the mailspoold to test)")
        self.dir = tempfile.mkdtemp(prefix="mailspool-it-")
        os.makedirs(os.path.join(self.dir, "logs"))
        self.config_dir = os.path.join(self.dir, "config")
        self.state_dir = os.path.join(self.dir, "state")
        self.bus_proc = None
        self.bus_address = None
        self.daemon = None
        self.daemon_log_path = None
        self.daemon_starts = 0
        self.monitors = []
        self.transcript = []
        self.collected_logs = []
        self.closed = False
        self.client_env = None
        _LIVE.add(self)
        if config is not None:
            self.write_config(config)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- files

    def write_config(self, files, clear=True):
        """(Re)write the config dir: {relative path: text}."""
        if clear and os.path.isdir(self.config_dir):
            shutil.rmtree(self.config_dir)
        for rel, text in files.items():
            p = os.path.join(self.config_dir, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)

    def maildir(self, transport_id="local"):
        return os.path.join(self.state_dir, "mail", transport_id)

    def pickup_dir(self, transport_id="local"):
        return os.path.join(self.state_dir, "pickup", transport_id)

    def maildir_files(self, transport_id="local", sub="new", maildir=None):
        d = os.path.join(maildir or self.maildir(transport_id), sub)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.startswith("."))

    def read_maildir(self, transport_id="local", sub="new", maildir=None):
        out = []
        for p in self.maildir_files(transport_id, sub, maildir):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    # -- the bus

    def start_bus(self):
        if self.bus_proc is not None:
            return
        sock = os.path.join(self.dir, "bus")
        if len(sock) > 100:
            raise HarnessError("temporary directory path too long for a socket: " + sock)
        self._bus_log = open(os.path.join(self.dir, "logs", "dbus-daemon.log"), "wb")
        self.bus_proc = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + os.path.join(HERE, "bus.conf"),
             "--address=unix:path=" + sock, "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=self._bus_log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("dbus-daemon printed no address within %ss" % READY_TIMEOUT)
            r, _, _ = select.select([self.bus_proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.bus_proc.stdout.fileno(), 4096)
                if not chunk:
                    raise HarnessError("dbus-daemon exited: %s" % self._file(self._bus_log.name))
                buf += chunk
        self.bus_address = buf.split(b"\n")[0].decode().strip()
        env = dict(os.environ)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        env.pop("NOTIFY_SOCKET", None)
        env["SYSTEMD_PAGER"] = "cat"
        env["PAGER"] = "cat"
        env["SYSTEMD_COLORS"] = "0"
        self.client_env = env

    def stop_bus(self):
        if self.bus_proc is None:
            return
        if self.bus_proc.poll() is None:
            self.bus_proc.terminate()
            try:
                self.bus_proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.bus_proc.kill()
                self.bus_proc.wait(5)
        self.bus_proc.stdout.close()
        self._bus_log.close()
        self.bus_proc = None

    # -- the daemon

    def _daemon_argv(self):
        # MAILSPOOLD_WRAPPER, e.g. "valgrind --leak-check=full --error-exitcode=99",
        # runs the daemon under a checker; its verdict is the exit code.
        wrapper = os.environ.get("MAILSPOOLD_WRAPPER", "").split()
        return wrapper + [self.daemon_bin, "--session", "--config-dir", self.config_dir,
                "--state-dir", self.state_dir, "--log-level", "debug"]

    def _spawn_daemon(self, env_overrides=None):
        self.start_bus()
        self.daemon_starts += 1
        self.daemon_log_path = os.path.join(self.dir, "logs",
                                            "mailspoold.%d.log" % self.daemon_starts)
        notify_path = os.path.join(self.dir, "notify.%d" % self.daemon_starts)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        env = dict(self.client_env)
        env["NOTIFY_SOCKET"] = notify_path
        env["XDG_CONFIG_HOME"] = os.path.join(self.dir, "xdg-config")
        env["XDG_STATE_HOME"] = os.path.join(self.dir, "xdg-state")
        env.update(getattr(self, "daemon_env", {}))
        if env_overrides:
            for k, v in env_overrides.items():
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
        with open(self.daemon_log_path, "wb") as log:
            proc = subprocess.Popen(self._daemon_argv(), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        return proc, notify

    def start_daemon(self, timeout=READY_TIMEOUT):
        """Start mailspoold and wait (bounded) for READY=1."""
        if self.daemon is not None and self.daemon.poll() is None:
            raise HarnessError("mailspoold is already running")
        proc, notify = self._spawn_daemon()
        self.daemon = proc
        try:
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("mailspoold sent no READY=1 within %ss; its log:\n%s"
                                       % (timeout, self.daemon_log()))
                r, _, _ = select.select([notify], [], [], min(left, 0.1))
                if r:
                    data = notify.recv(4096).decode(errors="replace")
                    if "READY=1" in data.split("\n"):
                        break
                    continue
                if proc.poll() is not None:
                    raise HarnessError("mailspoold exited with %s before READY=1; its log:\n%s"
                                       % (proc.returncode, self.daemon_log()))
        finally:
            notify.close()
        return proc

    def stop_daemon(self, expect_code=0, timeout=STOP_TIMEOUT):
        """SIGTERM, bounded wait; asserts the exit code (None: no assertion)."""
        proc = self.daemon
        if proc is None:
            raise HarnessError("mailspoold is not running")
        self.daemon = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
                raise AssertionError("mailspoold did not exit within %ss of SIGTERM; log:\n%s"
                                     % (timeout, self.daemon_log()))
        code = proc.returncode
        if expect_code is not None and code != expect_code:
            raise AssertionError("mailspoold exited with %s, expected %s; log:\n%s"
                                 % (code, expect_code, self.daemon_log()))
        return code

    def restart_daemon(self):
        """Clean stop (exit code 0 asserted) and a new start on the same dirs."""
        self.stop_daemon(expect_code=0)
        return self.start_daemon()

    def signal_daemon(self, signum):
        if self.daemon is None or self.daemon.poll() is not None:
            raise HarnessError("mailspoold is not running")
        self.daemon.send_signal(signum)

    def run_daemon_expect_exit(self, timeout=READY_TIMEOUT, env_overrides=None, argv=None):
        """Start mailspoold expecting it to exit by itself (bad configuration,
        no bus...). Returns (exit code, log text, ready?) ; a daemon still
        running after timeout is killed and reported as an AssertionError."""
        proc, notify = self._spawn_daemon(env_overrides)
        ready = False
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    proc.kill()
                    proc.wait(5)
                    raise AssertionError("mailspoold did not exit within %ss; log:\n%s"
                                         % (timeout, self.daemon_log()))
                r, _, _ = select.select([notify], [], [], min(left, 0.1))
                if r:
                    data = notify.recv(4096).decode(errors="replace")
                    if "READY=1" in data.split("\n"):
                        ready = True
        finally:
            notify.close()
        return proc.returncode, self.daemon_log(), ready

    def daemon_log(self):
        return self._file(self.daemon_log_path) if self.daemon_log_path else ""

    @staticmethod
    def _file(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError as e:
            return "<%s>" % e

    def start(self):
        self.start_bus()
        self.start_daemon()
        return self

    def close(self):
        if self.closed:
            return
        self.closed = True
        bad_exit = None
        _LIVE.discard(self)
        try:
            for m in self.monitors:
                try:
                    m.close()
                except Exception:  # noqa: BLE001 - cleanup goes on
                    pass
            if self.daemon is not None and self.daemon.poll() is None:
                self.daemon.send_signal(signal.SIGTERM)
                try:
                    self.daemon.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.daemon.kill()
                    self.daemon.wait(5)
                # A clean stop exits 0; ASan's leak check (exit 23) or a
                # MAILSPOOLD_WRAPPER's verdict makes it something else.
                if self.daemon.returncode != 0:
                    bad_exit = self.daemon.returncode
            self.stop_bus()
        finally:
            logdir = os.path.join(self.dir, "logs")
            if os.path.isdir(logdir):
                for name in sorted(os.listdir(logdir)):
                    text = self._file(os.path.join(logdir, name))
                    if text.strip():
                        self.collected_logs.append((name, text))
            shutil.rmtree(self.dir, ignore_errors=True)
        if bad_exit is not None:
            raise AssertionError("mailspoold exited with %s after SIGTERM at the end of the test "
                                 "(leak or checker error; see its log)" % bad_exit)

    # -- running clients

    def _run(self, argv, check=False, record=True, pass_fds=(), timeout=CALL_TIMEOUT + 10):
        if self.client_env is None:
            raise HarnessError("the bus is not running")
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               env=self.client_env, pass_fds=pass_fds, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.transcript.append((argv, "timeout", "", ""))
            raise HarnessError("%s did not finish within %ss" % (argv[0], timeout)) from e
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        if record:
            self.transcript.append((argv, p.returncode, out[:3000], err[:3000]))
            del self.transcript[:-60]
        if check and p.returncode != 0:
            raise HarnessError("%s failed (%s): %s" % (" ".join(argv), p.returncode, err))
        return p.returncode, out, err

    def _busctl(self, verb, *rest, timeout=None):
        timeout = timeout or CALL_TIMEOUT
        argv = ["busctl", "--user", "--json=short", "--timeout=%d" % timeout, verb, "--"]
        argv += list(rest)
        rc, out, err = self._run(argv, timeout=timeout + 10)
        if rc != 0:
            m = re.search(r"^(?:Call failed|Failed to get property \S+ on interface \S+): (.*)$",
                          err, re.M)
            raise BusError(None, m.group(1) if m else err.strip())
        out = out.strip()
        return json.loads(out) if out else None

    def call_raw(self, path, iface, method, sig="", *args, timeout=None):
        """busctl call; returns busctl's JSON {'type':..., 'data': [...]} (or None)."""
        return self._busctl("call", BUS_NAME, path, iface, method, sig,
                            *busctl_args(sig, args), timeout=timeout)

    def call(self, path, iface, method, sig="", *args, timeout=None):
        """busctl call; returns the list of decoded reply values. A D-Bus error
        raises BusError (name None: busctl does not print it). timeout: seconds
        (default CALL_TIMEOUT)."""
        reply = self.call_raw(path, iface, method, sig, *args, timeout=timeout)
        if reply is None:
            return []
        return [decode(t, d) for t, d in zip(split_signature(reply["type"]), reply["data"])]

    def call_gdbus(self, path, iface, method, sig="", *args, pass_fds=()):
        """gdbus call; returns its stdout (GVariant text) or raises BusError with
        the error name."""
        argv = ["gdbus", "call", "--session", "--dest", BUS_NAME, "--object-path", path,
                "--method", iface + "." + method, "--timeout", str(CALL_TIMEOUT)]
        argv += gvariant_args(sig, args)
        rc, out, err = self._run(argv, pass_fds=pass_fds)
        if rc != 0:
            e = parse_gdbus_error(err)
            if e is None:
                raise HarnessError("gdbus call failed without a D-Bus error: " + err)
            raise e
        return out

    def call_error(self, path, iface, method, sig="", *args, pass_fds=()):
        """A call that must fail: returns its BusError (name and message, via
        gdbus). Raises AssertionError when the call succeeds."""
        try:
            out = self.call_gdbus(path, iface, method, sig, *args, pass_fds=pass_fds)
        except BusError as e:
            return e
        raise AssertionError("%s.%s on %s succeeded (%s), expected an error"
                             % (iface, method, path, out.strip()))

    def get_property(self, path, iface, name, raw=False):
        v = self._busctl("get-property", BUS_NAME, path, iface, name)
        return v if raw else decode(v["type"], v["data"])

    def get_all(self, path, iface):
        (props,) = self.call(path, IFACE_PROPERTIES, "GetAll", "s", iface)
        return props

    def wait_for_property(self, path, iface, name, predicate, timeout=WAIT_TIMEOUT):
        """Poll a property every POLL_INTERVAL until predicate(value) holds; at
        most timeout seconds. Returns the value; AssertionError with the last
        value seen otherwise."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            value = self.get_property(path, iface, name)
            if predicate(value):
                return value
            if time.monotonic() >= deadline:
                raise AssertionError("%s %s.%s is still %r after %ss"
                                     % (path, iface, name, value, timeout))
            if self.daemon is not None and self.daemon.poll() is not None:
                raise AssertionError("mailspoold exited (%s) while waiting for %s"
                                     % (self.daemon.returncode, name))
            time.sleep(POLL_INTERVAL)  # the poll interval of a bounded wait

    def wait_for(self, what, fn, timeout=WAIT_TIMEOUT):
        """Poll fn() until it returns a true value (bounded); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() >= deadline:
                raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
            time.sleep(POLL_INTERVAL)  # the poll interval of a bounded wait

    def introspect(self, path):
        (xml,) = self.call(path, IFACE_INTROSPECTABLE, "Introspect")
        return xml

    def monitor(self, *matches):
        """A live SignalMonitor for the given match rules (OR-ed)."""
        m = SignalMonitor(self, matches)
        self.monitors.append(m)
        m.sync()
        return m

    # -- the API's common calls

    def query_status_table(self, columns=(), restriction=()):
        (rows,) = self.call(SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "asa(ssv)",
                            list(columns), list(restriction))
        return rows

    def submit_data(self, message, options=None):
        if isinstance(message, str):
            message = message.encode()
        (path,) = self.call(SPOOLER_PATH, IFACE_SPOOLER, "SubmitData", "aya{sv}",
                            message, options or {})
        return path

    def submit_fd(self, fd, options=None):
        """Spooler.Submit with the descriptor fd (passed by gdbus)."""
        out = self.call_gdbus(SPOOLER_PATH, IFACE_SPOOLER, "Submit", "ha{sv}", fd, options or {},
                              pass_fds=(fd,))
        m = re.search(r"objectpath '([^']*)'", out)
        if not m:
            raise AssertionError("Submit reply is not an object path: %r" % out)
        return m.group(1)

    def list_messages(self, filt=None):
        (rows,) = self.call(SPOOLER_PATH, IFACE_SPOOLER, "ListMessages", "a{sv}", filt or {})
        return rows

    def flush(self, target="/", flags=FLUSH_UPLOAD | FLUSH_NO_UI, path=SPOOLER_PATH, timeout=None):
        (summary,) = self.call(path, IFACE_STATUS, "FlushQueues", "ou", target, flags,
                               timeout=timeout)
        return summary

    def message_props(self, path):
        return self.get_all(path, IFACE_MESSAGE)


# --- unittest glue -------------------------------------------------------------------

def make_message(subject="Test message", to="bob@example.org", sender="alice@example.org",
                 cc=None, bcc=None, body="Hello from the integration tests.\n",
                 message_id=None, extra_headers=()):
    """An RFC 5322 message (CRLF line ends) as bytes."""
    lines = ["From: <%s>" % sender, "To: <%s>" % to]
    if cc:
        lines.append("Cc: <%s>" % cc)
    if bcc:
        lines.append("Bcc: <%s>" % bcc)
    lines.append("Subject: %s" % subject)
    lines.append("Date: Mon, 23 Nov 2026 10:00:00 +0000")
    lines.append("Message-ID: <%s>" % (message_id or "%s@example.org" % uuid.uuid4().hex))
    lines.extend(extra_headers)
    lines.append("MIME-Version: 1.0")
    lines.append("Content-Type: text/plain; charset=utf-8")
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def now_us():
    return int(time.time() * 1_000_000)


class DaemonTestCase(unittest.TestCase):
    """Base class: self.h is a started Harness (override CONFIG: None = the
    built-in default). The logs and bus calls of a failed test are printed."""

    CONFIG = None
    START = True

    def setUp(self):
        self.h = self.new_harness(self.CONFIG, start=self.START)

    def new_harness(self, config=None, start=True):
        h = Harness(config)
        self._harnesses.append(h)
        self.addCleanup(h.close)
        if start:
            h.start()
        return h

    def run(self, result=None):
        self._harnesses = []
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        outcome = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self._dump()
        return outcome

    def _dump(self):
        out = sys.stderr
        out.write("\n======== %s: logs ========\n" % self.id())
        for h in self._harnesses:
            h.close()
            for name, text in h.collected_logs:
                out.write("-------- %s --------\n%s\n" % (name, text[-20000:]))
            out.write("-------- last bus calls --------\n")
            for argv, rc, o, e in h.transcript[-25:]:
                out.write("$ %s\n  -> rc=%s\n" % (" ".join(argv)[:600], rc))
                if o.strip():
                    out.write("  stdout: %s\n" % o.strip()[:1500])
                if e.strip():
                    out.write("  stderr: %s\n" % e.strip()[:1500])
        out.flush()

    # -- assertions

    def need_gdbus(self):
        if shutil.which("gdbus") is None:
            self.skipTest("gdbus (libglib2.0-bin) is not installed")

    def assertBusError(self, err, name, code=None):
        """err is a BusError from Harness.call_error: its name, and its message
        beginning 'MAPI_E_NAME (0x........):' (docs/bus-api.md, Errors)."""
        self.assertIsInstance(err, BusError)
        self.assertEqual(err.name, name, "error name (message: %r)" % err.message)
        self.assertRegex(err.message, r"^MAPI_E_[A-Z_]+ \(0x[0-9A-Fa-f]{8}\): \S",
                         "docs/bus-api.md, Errors: every message begins with the MAPI code name and value")
        if code is not None:
            self.assertTrue(err.message.upper().startswith(mapi_prefix(code).upper()),
                            "message %r should begin with %r" % (err.message, mapi_prefix(code)))

    def assertCallFails(self, name, code, path, iface, method, sig="", *args):
        self.need_gdbus()
        err = self.h.call_error(path, iface, method, sig, *args)
        self.assertBusError(err, name, code)
        return err


def main():
    """unittest.main(), or exit 77 (skipped) when the environment lacks what the
    tests need."""
    missing = [t for t in ("dbus-daemon", "busctl") if shutil.which(t) is None]
    daemon = os.environ.get("MAILSPOOLD")
    if not daemon:
        missing.append("MAILSPOOLD (environment)")
    elif not os.access(daemon, os.X_OK):
        missing.append("MAILSPOOLD=%s (not executable)" % daemon)
    if missing:
        sys.stderr.write("skipped: missing %s\n" % ", ".join(missing))
        sys.exit(77)

    def terminated(signum, frame):
        sys.stderr.write("\nterminated by signal %d: stopping the daemons and buses\n" % signum)
        close_all_harnesses()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    unittest.main(verbosity=2)
