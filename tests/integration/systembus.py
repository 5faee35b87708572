"""A private dbus-daemon of type system that includes the project's own policy
(data/dbus/org.mailspool.Spool1.conf), mailspoold --system on it, and callers
under different uids (setpriv): the set-up of every test of a shared machine."""

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sink  # noqa: E402
from harness import (  # noqa: E402
    BUS_NAME, IFACE_MESSAGE, IFACE_SPOOLER, SPOOLER_PATH, make_message, parse_gdbus_error,
    transport_path)

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY = os.path.join(HERE, "..", "..", "data", "dbus", "org.mailspool.Spool1.conf")
OUT = transport_path("out")
# Existing system accounts: dbus-daemon refuses a uid the user database lacks.
ALICE, BOB, ADMIN = 1, 2, 3  # daemon, bin, sys
# The AdminGroup of this test is "sys": the primary group of ADMIN (uid 3) in
# the user database, of which ALICE and BOB are not members.
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
NOT_FOUND = "org.mailspool.Spool1.Error.NotFound"
FORCE_XP_DISCONNECT, FORCE_XP_CONNECT, CONFIG_CHANGED = 0x80000, 0x40000, 0x100000
TIMEOUT = 20

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- Debian's system.conf defaults: deny by default, replies and signals pass. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
{extra}</busconfig>
"""


def available():
    return (os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("gdbus")
            and shutil.which("dbus-daemon") and sink.available())


class SystemBusCase(unittest.TestCase):
    """Override SPOOLER_CONF or transports() to change the configuration."""

    SPOOLER_CONF = "[Spooler]\nAdminGroup=sys\n"
    # The daemon's uid: 0, or an account of its own as under the shipped unit
    # (then the bus lets it own the name, and it owns its state directory).
    DAEMON_UID = 0
    # The daemon's RLIMIT_NOFILE (None: inherited), from which it derives its
    # limits on submissions read from pipes.
    DAEMON_NOFILE = None
    SINK_ARGS = ("-w", "1")  # a flush lasts while we look at it

    def _limit_nofile(self):
        if self.DAEMON_NOFILE:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.DAEMON_NOFILE, self.DAEMON_NOFILE))

    def configure(self, config_dir):
        """More configuration, before the daemon starts."""

    def transports(self):
        return {"out.conf": "[Transport]\nKind=smtp\nServer=%s\nStartTLS=no\n"
                            "SendMode=on-demand\n" % self.sink.url}


    def setUp(self):
        if not available():
            self.skipTest("needs root, setpriv, gdbus, dbus-daemon and smtp-sink")
        self.dir = tempfile.mkdtemp(prefix="mailspool-system-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o755)
        self.sink = sink.SmtpSink(self.SINK_ARGS)
        self.addCleanup(self.sink.close)
        socket_path = os.path.join(self.dir, "system_bus_socket")
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            extra = ""
            if self.DAEMON_UID:
                extra = ('  <policy user="%d"><allow own="%s"/></policy>\n'
                         % (self.DAEMON_UID, BUS_NAME))
            f.write(BUS_CONFIG.format(socket=socket_path, policy=os.path.abspath(POLICY),
                                      extra=extra))
        self.bus_log = open(os.path.join(self.dir, "bus.log"), "wb")
        self.addCleanup(self.bus_log.close)
        self.bus = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork"],
                                    stdin=subprocess.DEVNULL, stdout=self.bus_log,
                                    stderr=self.bus_log)
        self.addCleanup(self.stop, self.bus)
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + socket_path)
        self.env.pop("NOTIFY_SOCKET", None)
        self.wait("the bus socket", lambda: os.path.exists(socket_path))

        config = self.config = os.path.join(self.dir, "config")
        os.makedirs(os.path.join(config, "transports.d"))
        with open(os.path.join(config, "mailspool.conf"), "w") as f:
            f.write(self.SPOOLER_CONF)
        for name, text in self.transports().items():
            with open(os.path.join(config, "transports.d", name), "w") as f:
                f.write(text)
        self.daemon_log = open(os.path.join(self.dir, "mailspoold.log"), "wb")
        self.addCleanup(self.daemon_log.close)
        self.configure(config)
        state = self.state_dir = os.path.join(self.dir, "state")
        os.makedirs(state, 0o700)
        os.chown(state, self.DAEMON_UID, self.DAEMON_UID)
        self.daemon = subprocess.Popen(
            self.as_user(self.DAEMON_UID,
                         [os.environ["MAILSPOOLD"], "--system", "--config-dir", config,
                          "--state-dir", state, "--log-level", "debug"]),
            stdin=subprocess.DEVNULL, stdout=self.daemon_log, stderr=subprocess.STDOUT,
            env=self.env, preexec_fn=self._limit_nofile)
        self.addCleanup(self.stop, self.daemon)
        self.wait("mailspoold on the system bus",
                  lambda: self.gdbus(0, SPOOLER_PATH, "org.freedesktop.DBus.Peer.Ping")[0] == 0)

    @staticmethod
    def stop(proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def wait(self, what, predicate):
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("no %s within %ss" % (what, TIMEOUT))
            time.sleep(0.05)  # poll interval of a bounded wait

    def as_user(self, uid, argv):
        """argv run as uid (its gid the same number, no other groups)."""
        if uid == 0:
            return argv
        return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", "--"] + argv

    def gdbus(self, uid, path, method, *args, popen=False):
        argv = self.as_user(uid, ["gdbus", "call", "--system", "--dest", BUS_NAME,
                                  "--object-path", path, "--method", method,
                                  "--timeout", "60"] + list(args))
        if popen:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=self.env)
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=self.env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def denied(self, uid, path, method, *args):
        rc, out, err = self.gdbus(uid, path, method, *args)
        self.assertNotEqual(rc, 0, "uid %d may not call %s: %s" % (uid, method, out))
        e = parse_gdbus_error(err)
        self.assertIsNotNone(e, err)
        self.assertEqual(e.name, ACCESS_DENIED, err)
        self.assertTrue(e.message.startswith("MAPI_E_NO_ACCESS (0x80070005):"), e.message)

    def submit_held(self, uid, subject, **kw):
        """SubmitData as uid (the message bytes as a GVariant byte string)."""
        data = make_message(subject=subject, **kw).decode()
        literal = "b'%s'" % "".join(
            "\\%03o" % ord(c) if ord(c) < 0x20 or c in "\\'" else c for c in data)
        rc, out, err = self.gdbus(uid, SPOOLER_PATH, IFACE_SPOOLER + ".SubmitData", literal,
                                  "{'OnDemand': <true>}")
        self.assertEqual(rc, 0, err)
        return out.split("'")[1]

    def listed(self, uid):
        rc, out, err = self.gdbus(uid, SPOOLER_PATH, IFACE_SPOOLER + ".ListMessages", "{}")
        self.assertEqual(rc, 0, err)
        return out

    def state(self, path):
        rc, out, err = self.gdbus(0, path, "org.freedesktop.DBus.Properties.Get",
                                  IFACE_MESSAGE, "State")
        self.assertEqual(rc, 0, err)
        return out.split("'")[1]

