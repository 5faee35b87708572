#!/usr/bin/env python3
"""The running service against the contract: introspection of every kind of
object compared with interfaces/*.xml (compare_introspection.py), the object
manager's content, and the types and fixed values of the properties."""

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    IFACE_INTROSPECTABLE, IFACE_MESSAGE, IFACE_OBJECT_MANAGER, IFACE_PROPERTIES,
    IFACE_SPOOLER, IFACE_STATUS, IFACE_TRANSPORT, MAPI_SPOOLER, MAPI_TRANSPORT_PROVIDER,
    MESSAGE_PREFIX, ROOT_PATH, SPOOLER_PATH, STATUS_AVAILABLE, STATUS_DEFAULT_OUTBOUND,
    STATUS_FLUSH_QUEUES, STATUS_SETTINGS_DIALOG, STATUS_VALIDATE_STATE, DaemonTestCase,
    make_message, transport_path)

HERE = os.path.dirname(os.path.abspath(__file__))
INTERFACES_DIR = os.environ.get("INTERFACES_DIR",
                                os.path.join(HERE, "..", "..", "interfaces"))
COMPARE = os.path.join(HERE, "compare_introspection.py")
LOCAL = transport_path("local")

# docs/bus-api.md: Status / Transport / Message / Spooler properties and their types.
STATUS_PROPS = {
    "ResourceType": "u", "DisplayName": "s", "ProviderDisplay": "s", "ResourceMethods": "u",
    "ResourceFlags": "u", "StatusCode": "u", "StatusString": "s", "IdentityDisplay": "s",
}
TRANSPORT_PROPS = {
    "Id": "s", "Kind": "s", "Asynchronous": "b", "SendMode": "s", "Server": "s",
    "QueuedOutbound": "u", "HeldOutbound": "u", "ScheduledOutbound": "u", "LastError": "s", "NextRetry": "t", "SkippedInbound": "u",
    "SecretSource": "s", "LogonMechanism": "s",
}
SPOOLER_PROPS = {"TransportOrder": "ao", "Version": "s"}
MESSAGE_PROPS = {
    "Id": "t", "Direction": "s", "State": "s", "Transport": "o", "Sender": "s",
    "Recipients": "as", "Subject": "s", "MessageID": "s", "Size": "t", "Submitted": "t",
    "Attempts": "u", "NextAttempt": "t", "LastError": "s", "Owner": "u", "Path": "s",
    "OnDemand": "b", "DeferredUntil": "t", "ExpiryTime": "t", "PossiblyDelivered": "b",
    "DelayReported": "b",
    "SentCopy": "s",
    "SentCopyError": "s",
}


def interface_names(xml):
    return {i.get("name") for i in ET.fromstring(xml).findall("interface")}


def child_nodes(xml):
    return {n.get("name") for n in ET.fromstring(xml).findall("node")}


class IntrospectionTest(DaemonTestCase):

    def compare(self, documents):
        """docs/bus-api.md (first paragraph): the running service must match the XML."""
        self.assertTrue(os.path.isfile(COMPARE), "missing " + COMPARE)
        with tempfile.TemporaryDirectory(prefix="mailspool-introspect-") as d:
            files = []
            for name, xml in documents.items():
                p = os.path.join(d, name + ".xml")
                with open(p, "w") as f:
                    f.write(xml)
                files.append(p)
            p = subprocess.run([sys.executable, COMPARE, INTERFACES_DIR] + files,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0,
                         "introspection differs from %s:\n%s%s"
                         % (INTERFACES_DIR, p.stdout, p.stderr))
        return p.stdout

    def submit_one(self):
        path = self.h.submit_data(make_message(subject="introspect me"))
        self.assertTrue(path.startswith(MESSAGE_PREFIX), path)
        return path

    # docs/bus-api.md: Names (spooler: Status, Spooler)
    def test_spooler_introspection_matches_xml(self):
        xml = self.h.introspect(SPOOLER_PATH)
        names = interface_names(xml)
        self.assertIn(IFACE_STATUS, names)
        self.assertIn(IFACE_SPOOLER, names)
        self.assertNotIn(IFACE_TRANSPORT, names)
        self.assertNotIn(IFACE_MESSAGE, names)
        self.assertIn(IFACE_PROPERTIES, names)
        self.assertIn(IFACE_INTROSPECTABLE, names)
        out = self.compare({"spooler": xml})
        self.assertIn("matches 2 interfaces", out)

    # docs/bus-api.md: Names (transports: Status, Transport)
    def test_transport_introspection_matches_xml(self):
        xml = self.h.introspect(LOCAL)
        names = interface_names(xml)
        self.assertIn(IFACE_STATUS, names)
        self.assertIn(IFACE_TRANSPORT, names)
        self.assertNotIn(IFACE_SPOOLER, names)
        out = self.compare({"transport": xml})
        self.assertIn("matches 2 interfaces", out)

    # docs/bus-api.md: Names (object manager /org/mailspool/Spool1)
    def test_object_manager_root_introspection(self):
        xml = self.h.introspect(ROOT_PATH)
        self.assertIn(IFACE_OBJECT_MANAGER, interface_names(xml))
        children = child_nodes(xml)
        self.assertIn("spooler", children)
        self.assertIn("transport", children)
        # The root has no interface of ours; comparing it with the spooler's
        # document checks that it adds none outside the contract.
        spooler = self.h.introspect(SPOOLER_PATH)
        self.compare({"root": xml, "spooler": spooler})
        transports = child_nodes(self.h.introspect(ROOT_PATH + "/transport"))
        self.assertEqual(transports, {"local"})

    # docs/bus-api.md: Names (messages: Message)
    def test_message_introspection_matches_xml(self):
        path = self.submit_one()
        xml = self.h.introspect(path)
        names = interface_names(xml)
        self.assertIn(IFACE_MESSAGE, names)
        self.assertNotIn(IFACE_STATUS, names)
        out = self.compare({"message": xml})
        self.assertIn("matches 1 interfaces", out)

    def test_all_objects_together_match_xml(self):
        path = self.submit_one()
        out = self.compare({"root": self.h.introspect(ROOT_PATH),
                            "spooler": self.h.introspect(SPOOLER_PATH),
                            "transport": self.h.introspect(LOCAL),
                            "message": self.h.introspect(path)})
        self.assertIn("matches 4 interfaces", out)

    # docs/bus-api.md: Names — messages are not in the object manager
    def test_get_managed_objects(self):
        msg = self.submit_one()
        (objects,) = self.h.call(ROOT_PATH, IFACE_OBJECT_MANAGER, "GetManagedObjects")
        self.assertIn(SPOOLER_PATH, objects)
        self.assertIn(LOCAL, objects)
        self.assertNotIn(msg, objects, "docs/bus-api.md: messages are not in the object manager")
        self.assertEqual(set(objects), {SPOOLER_PATH, LOCAL})
        self.assertIn(IFACE_STATUS, objects[SPOOLER_PATH])
        self.assertIn(IFACE_SPOOLER, objects[SPOOLER_PATH])
        self.assertIn(IFACE_STATUS, objects[LOCAL])
        self.assertIn(IFACE_TRANSPORT, objects[LOCAL])
        self.assertEqual(objects[LOCAL][IFACE_STATUS]["ResourceType"], MAPI_TRANSPORT_PROVIDER)
        self.assertEqual(objects[SPOOLER_PATH][IFACE_STATUS]["ResourceType"], MAPI_SPOOLER)
        self.assertEqual(objects[LOCAL][IFACE_TRANSPORT]["Id"], "local")

    def assert_property_types(self, path, iface, expected):
        (raw,) = self.h.call_raw(path, IFACE_PROPERTIES, "GetAll", "s", iface)["data"]
        got = {name: v["type"] for name, v in raw.items()}
        self.assertEqual(got, expected, "%s %s: properties and their types" % (path, iface))
        return {name: v["data"] for name, v in raw.items()}

    # docs/bus-api.md: org.mailspool.Spool1.Status, Spooler (Properties)
    def test_spooler_properties(self):
        st = self.assert_property_types(SPOOLER_PATH, IFACE_STATUS, STATUS_PROPS)
        self.assertEqual(st["ResourceType"], MAPI_SPOOLER)
        self.assertEqual(st["ResourceMethods"], STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES)
        self.assertEqual(st["ResourceMethods"] & STATUS_SETTINGS_DIALOG, 0)
        self.assertEqual(st["IdentityDisplay"], "", "docs/bus-api.md: empty for the spooler")
        self.assertEqual(st["ProviderDisplay"], "Spooler")
        # The interface's doc string says "Spooler" for the spooler.
        self.assertEqual(st["DisplayName"], "Spooler")
        self.assertTrue(st["StatusCode"] & STATUS_AVAILABLE, hex(st["StatusCode"]))
        sp = self.assert_property_types(SPOOLER_PATH, IFACE_SPOOLER, SPOOLER_PROPS)
        self.assertEqual(sp["TransportOrder"], [LOCAL])
        self.assertRegex(sp["Version"], r"^\d+\.\d+")
        # Get of a single property agrees with GetAll.
        self.assertEqual(self.h.get_property(SPOOLER_PATH, IFACE_STATUS, "ResourceType"),
                         MAPI_SPOOLER)

    # docs/bus-api.md: Status and Transport properties; the built-in default transport
    def test_transport_properties(self):
        st = self.assert_property_types(LOCAL, IFACE_STATUS, STATUS_PROPS)
        self.assertEqual(st["ResourceType"], MAPI_TRANSPORT_PROVIDER)
        self.assertEqual(st["ResourceMethods"], STATUS_VALIDATE_STATE,
                         "the maildir kind supports ValidateState only")
        self.assertTrue(st["DisplayName"])
        self.assertEqual(st["ProviderDisplay"], "Maildir")
        self.assertEqual(st["IdentityDisplay"], "")
        self.assertEqual(st["ResourceFlags"] & STATUS_DEFAULT_OUTBOUND, STATUS_DEFAULT_OUTBOUND,
                         "docs/bus-api.md: Default = first outbound transport (STATUS_DEFAULT_OUTBOUND)")
        self.assertTrue(st["StatusCode"] & STATUS_AVAILABLE, hex(st["StatusCode"]))
        tr = self.assert_property_types(LOCAL, IFACE_TRANSPORT, TRANSPORT_PROPS)
        self.assertEqual(tr["Id"], "local")
        self.assertEqual(tr["Kind"], "maildir")
        self.assertEqual(tr["Asynchronous"], False)
        self.assertEqual(tr["SendMode"], "immediate")
        self.assertEqual(tr["QueuedOutbound"], 0)
        self.assertEqual(tr["LastError"], "")
        self.assertEqual(tr["NextRetry"], 0)
        self.assertEqual(tr["SecretSource"], "", "a Maildir logs on with no secret")
        self.assertEqual(tr["LogonMechanism"], "")

    # docs/bus-api.md: Configuration files — DisplayName defaults to the id (the built-in
    # default transport has no DisplayName of its own either)
    def test_transport_display_name_defaults_to_id(self):
        self.assertEqual(self.h.get_property(LOCAL, IFACE_STATUS, "DisplayName"), "local")

    # docs/bus-api.md: org.mailspool.Spool1.Message (Properties)
    def test_message_property_types(self):
        path = self.submit_one()
        props = self.assert_property_types(path, IFACE_MESSAGE, MESSAGE_PROPS)
        self.assertEqual(props["Id"], int(path[len(MESSAGE_PREFIX):]))
        self.assertEqual(props["Direction"], "outbound")

    def test_unknown_property_is_an_error(self):
        with self.assertRaises(harness.BusError):
            self.h.get_property(SPOOLER_PATH, IFACE_STATUS, "NoSuchProperty")


if __name__ == "__main__":
    harness.main()
