#!/usr/bin/env python3
"""Offline awareness from NetworkManager (docs/bus-api.md, "Status": STATUS_OFFLINE): when
NetworkManager is on the system bus and says the machine is not connected, a transport shows
STATUS_OFFLINE although the kernel has routes; when it leaves the bus, the kernel's view holds
again. The real NetworkManager runs on a private system bus inside a network namespace (its
only device, a veth end, is one it does not manage here: it says "disconnected"). Needs root,
NetworkManager and iproute2's ip."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import children  # noqa: E402
import harness  # noqa: E402
from harness import IFACE_STATUS, STATUS_OFFLINE, DaemonTestCase, transport_path  # noqa: E402

OUT = transport_path("out")
IP = shutil.which("ip") or "/usr/sbin/ip"
NETWORK_MANAGER = shutil.which("NetworkManager") or "/usr/sbin/NetworkManager"
# NetworkManager takes a few seconds to come up and claim its name.
NM_TIMEOUT = 30 * harness._SCALE

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

NM_CONF = """[main]
plugins=keyfile
no-auto-default=*
[connectivity]
enabled=false
[keyfile]
path={dir}/connections
"""


class NetworkManagerTest(DaemonTestCase):
    START = False

    def setUp(self):
        if os.geteuid() != 0 or not os.access(IP, os.X_OK) or \
                not os.access(NETWORK_MANAGER, os.X_OK):
            self.skipTest("needs root, iproute2 and NetworkManager (network-manager)")
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="mailspool-nm-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "connections"))
        with open(os.path.join(self.dir, "bus.conf"), "w") as f:
            f.write(BUS_CONF.format(socket=os.path.join(self.dir, "system_bus")))
        with open(os.path.join(self.dir, "nm.conf"), "w") as f:
            f.write(NM_CONF.format(dir=self.dir))
        bus = subprocess.Popen(["dbus-daemon", "--config-file=" + os.path.join(self.dir, "bus.conf"),
                                "--nofork", "--print-address=1"],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               preexec_fn=children.die_with_parent)
        self.addCleanup(children.stop, bus)
        self.system_bus = bus.stdout.readline().decode().strip()
        self.assertTrue(self.system_bus, "dbus-daemon printed no address")
        # NetworkManager's own network: a namespace with one end of a veth pair.
        self.ns = "mailspool-nm-%d" % os.getpid()
        subprocess.run([IP, "netns", "add", self.ns], check=True, timeout=30)
        self.addCleanup(subprocess.run, [IP, "netns", "del", self.ns], capture_output=True)
        tag = os.getpid() % 200 + 20
        outside, inside = "msn%da" % tag, "msn%db" % tag
        subprocess.run([IP, "link", "add", outside, "type", "veth", "peer", "name", inside],
                       check=True, timeout=30)
        self.addCleanup(subprocess.run, [IP, "link", "del", outside], capture_output=True)
        subprocess.run([IP, "link", "set", inside, "netns", self.ns], check=True, timeout=30)

        self.h.daemon_env = {"DBUS_SYSTEM_BUS_ADDRESS": self.system_bus}
        # A server elsewhere (TEST-NET-1): the transport needs the network.
        self.h.write_config({"transports.d/out.conf": "[Transport]\nKind=smtp\n"
                                                      "Server=smtp://192.0.2.1:25\nStartTLS=no\n"
                                                      "SendMode=on-demand\n"})
        self.h.start()

    def start_network_manager(self):
        log = open(os.path.join(self.dir, "NetworkManager.log"), "wb")
        self.addCleanup(log.close)
        nm = subprocess.Popen(
            [IP, "netns", "exec", self.ns, NETWORK_MANAGER, "--no-daemon",
             "--config=" + os.path.join(self.dir, "nm.conf"),
             "--state-file=" + os.path.join(self.dir, "NetworkManager.state"),
             "--pid-file=" + os.path.join(self.dir, "NetworkManager.pid")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.system_bus),
            preexec_fn=children.die_with_parent)
        self.addCleanup(children.stop, nm)
        return nm

    def offline(self):
        return self.h.get_property(OUT, IFACE_STATUS, "StatusCode") & STATUS_OFFLINE

    def test_network_manager_disconnected_means_offline(self):
        self.assertFalse(self.offline())  # the kernel has routes; no NetworkManager yet
        nm = self.start_network_manager()
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode", lambda c: c & STATUS_OFFLINE,
                                 timeout=NM_TIMEOUT)
        self.assertIn("no network", self.h.get_property(OUT, IFACE_STATUS, "StatusString"))
        self.assertIn("NetworkManager says the machine is offline", self.h.daemon_log())
        # It leaves the bus: the kernel's view holds again.
        children.stop(nm)
        self.h.wait_for_property(OUT, IFACE_STATUS, "StatusCode",
                                 lambda c: not c & STATUS_OFFLINE)


if __name__ == "__main__":
    harness.main()
