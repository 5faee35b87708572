#!/usr/bin/env python3
"""D-Bus clients' habits (docs/bus-api.md): the client libraries people use,
driven against the daemon on the tests' private bus. dbus-python sends a plain
number in a variant as int32, and QueryStatusTable takes it; a GDBus
GDBusObjectManagerClient keeps its proxy of a transport whose file did not
change across a reload, and only the changed transport's proxy is replaced.
The libraries are Debian's (python3-dbus, python3-gi), run with the system's
python3 in a child process."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DaemonTestCase, transport_path  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"

DBUS_PYTHON_QUERY = r"""
import json, dbus
bus = dbus.SessionBus()
spooler = bus.get_object("org.mailspool.Spool1", "/org/mailspool/Spool1/spooler")
rows = spooler.QueryStatusTable(["EntryID"], [("ResourceType", "==", 36)],
                                dbus_interface="org.mailspool.Spool1.Spooler")
print(json.dumps([str(r["EntryID"]) for r in rows]))
"""

GDBUS_MANAGER = r"""
import json, sys
from gi.repository import Gio, GLib
IFACE = "org.mailspool.Spool1.Status"
bus = Gio.bus_get_sync(Gio.BusType.SESSION)
manager = Gio.DBusObjectManagerClient.new_sync(
    bus, Gio.DBusObjectManagerClientFlags.NONE, "org.mailspool.Spool1", "/org/mailspool/Spool1",
    None, None, None)
paths = sys.argv[1:3]
before = {p: manager.get_interface(p, IFACE) for p in paths}
events = []
loop = GLib.MainLoop()
def note(kind):
    def handler(m, obj, iface):
        events.append((kind, obj.get_object_path(), iface.get_interface_name()))
        if len(events) == 4:
            loop.quit()
    return handler
manager.connect("interface-removed", note("removed"))
manager.connect("interface-added", note("added"))
# Let the manager finish setting up (its match rules, the name's owner).
context = GLib.MainContext.default()
while context.pending():
    context.iteration(False)
spooler = Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.NONE, None, "org.mailspool.Spool1",
                                 "/org/mailspool/Spool1/spooler", IFACE)
spooler.call_sync("ValidateState", GLib.Variant("(u)", (0x100000,)), Gio.DBusCallFlags.NONE,
                  30000, None)
GLib.timeout_add_seconds(10, loop.quit)  # the bound of the wait for the four changes
loop.run()
after = {p: manager.get_interface(p, IFACE) for p in paths}
print(json.dumps({"events": sorted(events),
                  "same": {p: after[p] is before[p] for p in paths}}))
"""


class DBusClientsTest(DaemonTestCase):
    CONFIG = {
        "transports.d/a.conf": "[Transport]\nKind=maildir\n",
        "transports.d/b.conf": "[Transport]\nKind=maildir\n",
    }
    A = transport_path("a")
    B = transport_path("b")

    def setUp(self):
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import dbus, gi"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("needs Debian's python3-dbus and python3-gi")
        super().setUp()

    def run_client(self, script, *args):
        p = subprocess.run([SYSTEM_PYTHON, "-c", script] + list(args), capture_output=True,
                           text=True, env=self.h.client_env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    # docs/bus-api.md, QueryStatusTable: a plain number from dbus-python (int32) counts
    def test_dbus_python_plain_number(self):
        self.assertEqual(sorted(self.run_client(DBUS_PYTHON_QUERY)), sorted([self.A, self.B]))

    # docs/bus-api.md, Configuration files: a reload keeps a GDBus client's proxy of an
    # unchanged transport
    def test_gdbus_proxy_survives_a_reload(self):
        self.h.write_config({"transports.d/b.conf": "[Transport]\nKind=maildir\n"
                                                    "DisplayName=Changed\n"}, clear=False)
        got = self.run_client(GDBUS_MANAGER, self.A, self.B)
        status, transport = "org.mailspool.Spool1.Status", "org.mailspool.Spool1.Transport"
        self.assertEqual(got["events"], [["added", self.B, status], ["added", self.B, transport],
                                         ["removed", self.B, status],
                                         ["removed", self.B, transport]])
        self.assertEqual(got["same"], {self.A: True, self.B: False},
                         "a's proxy is the one the client had; b's is new")


if __name__ == "__main__":
    harness.main()
