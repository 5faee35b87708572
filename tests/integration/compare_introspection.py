#!/usr/bin/env python3
"""Check that the running service implements the bus contract in interfaces/.

Usage: compare_introspection.py XML_DIR SERVICE_INTROSPECTION_XML_FILE...

XML_DIR holds our interface files (*.xml). Each SERVICE file is what
org.freedesktop.DBus.Introspectable.Introspect returned for one object of the
running daemon. For every interface of ours that a service file contains, the
two descriptions must agree on:

  - methods: name and the ordered (name, type, direction) of their arguments;
  - signals: name and the ordered (name, type) of their arguments;
  - properties: name, type, access and the effective value of
    org.freedesktop.DBus.Property.EmitsChangedSignal.

Comments, whitespace and all other annotations are ignored: sd-bus adds some
of its own (e.g. org.freedesktop.systemd1.Privileged). The standard
org.freedesktop.DBus.* interfaces of the service are ignored too; any other
interface the service has that XML_DIR does not describe is a difference,
since it would be API outside the contract.

Prints each difference and exits 1 if there is any; otherwise prints
"introspection matches N interfaces" and exits 0. Exit 2 means the input
could not be read.

A test can import compare_introspection() (paths in, differences out) or
compare_interfaces() (parsed documents in).
"""

import os
import sys
import xml.etree.ElementTree as ET

__all__ = [
    "IntrospectionError",
    "parse_interfaces",
    "compare_interfaces",
    "compare_introspection",
    "main",
]

EMITS_CHANGED = "org.freedesktop.DBus.Property.EmitsChangedSignal"
# The D-Bus specification's default when neither the property nor its
# interface says otherwise.
EMITS_CHANGED_DEFAULT = "true"
STANDARD_PREFIX = "org.freedesktop.DBus."


class IntrospectionError(Exception):
    """An introspection document that cannot be read or makes no sense."""


class Interface:
    """The comparable content of one <interface> element."""

    def __init__(self, name, origin):
        self.name = name
        self.origin = origin
        # name -> list of (arg name, type, direction)
        self.methods = {}
        # name -> list of (arg name, type)
        self.signals = {}
        # name -> (type, access, emits-changed value)
        self.properties = {}


def _annotation(element, name):
    """The value of the annotation called name directly inside element."""
    for annotation in element.findall("annotation"):
        if annotation.get("name") == name:
            return annotation.get("value")
    return None


def _add_member(table, kind, name, value, iface):
    if name is None:
        raise IntrospectionError(f"{iface.origin}: interface {iface.name}: a {kind} has no name")
    # D-Bus has no overloading, so a second declaration is a mistake in the
    # document, not something to merge.
    if name in table:
        raise IntrospectionError(
            f"{iface.origin}: interface {iface.name}: {kind} {name} is declared twice"
        )
    table[name] = value


def _parse_interface(element, origin):
    name = element.get("name")
    if not name:
        raise IntrospectionError(f"{origin}: an <interface> has no name")
    iface = Interface(name, origin)
    # An interface-level annotation changes the default of its properties.
    interface_emits = _annotation(element, EMITS_CHANGED) or EMITS_CHANGED_DEFAULT

    for method in element.findall("method"):
        # Method arguments are "in" unless they say otherwise.
        args = [
            (arg.get("name"), arg.get("type"), arg.get("direction", "in"))
            for arg in method.findall("arg")
        ]
        _add_member(iface.methods, "method", method.get("name"), args, iface)

    for signal in element.findall("signal"):
        # A signal's arguments are all outgoing; a direction attribute adds
        # nothing, so it is not compared.
        args = [(arg.get("name"), arg.get("type")) for arg in signal.findall("arg")]
        _add_member(iface.signals, "signal", signal.get("name"), args, iface)

    for prop in element.findall("property"):
        emits = _annotation(prop, EMITS_CHANGED) or interface_emits
        value = (prop.get("type"), prop.get("access"), emits)
        _add_member(iface.properties, "property", prop.get("name"), value, iface)

    return iface


def parse_interfaces(text, origin="<string>"):
    """Parses one introspection document (a str or bytes) into a list of
    Interface objects, including those of nested <node> elements."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise IntrospectionError(f"{origin}: not well-formed XML: {e}") from None
    if root.tag != "node":
        raise IntrospectionError(f"{origin}: the root element is <{root.tag}>, not <node>")
    return [_parse_interface(element, origin) for element in root.iter("interface")]


def _format_method_args(args):
    if not args:
        return "()"
    return "(" + ", ".join(f"{direction} {type_} {name}" for name, type_, direction in args) + ")"


def _format_signal_args(args):
    if not args:
        return "()"
    return "(" + ", ".join(f"{type_} {name}" for name, type_ in args) + ")"


def _compare_args(where, ours, theirs, fields, formatter):
    """Differences between two argument lists, position by position, so that
    the message says which argument is wrong and how."""
    diffs = []
    if len(ours) != len(theirs):
        diffs.append(
            f"{where}: {len(ours)} argument(s) expected, service has {len(theirs)}: "
            f"expected {formatter(ours)}, service {formatter(theirs)}"
        )
        return diffs
    for position, (want, got) in enumerate(zip(ours, theirs)):
        for field, w, g in zip(fields, want, got):
            if w != g:
                diffs.append(
                    f"{where}: argument {position} ({want[0]}): {field} is "
                    f"{g!r} in the service, expected {w!r}"
                )
    return diffs


def _compare_members(where, kind, ours, theirs, compare_one):
    diffs = []
    for name in sorted(ours.keys() - theirs.keys()):
        diffs.append(f"{where}: {kind} {name} is missing from the service")
    for name in sorted(theirs.keys() - ours.keys()):
        diffs.append(f"{where}: the service has {kind} {name}, which the contract lacks")
    for name in sorted(ours.keys() & theirs.keys()):
        diffs.extend(compare_one(f"{where}: {kind} {name}", ours[name], theirs[name]))
    return diffs


def _compare_method(where, ours, theirs):
    return _compare_args(where, ours, theirs, ("name", "type", "direction"), _format_method_args)


def _compare_signal(where, ours, theirs):
    return _compare_args(where, ours, theirs, ("name", "type"), _format_signal_args)


def _compare_property(where, ours, theirs):
    diffs = []
    for field, want, got in zip(("type", "access", EMITS_CHANGED), ours, theirs):
        if want != got:
            diffs.append(f"{where}: {field} is {got!r} in the service, expected {want!r}")
    return diffs


def _compare_interface(ours, theirs):
    where = f"{theirs.origin}: {ours.name}"
    return (
        _compare_members(where, "method", ours.methods, theirs.methods, _compare_method)
        + _compare_members(where, "signal", ours.signals, theirs.signals, _compare_signal)
        + _compare_members(
            where, "property", ours.properties, theirs.properties, _compare_property
        )
    )


def compare_interfaces(ours, service_documents):
    """Compares our interfaces with those of the service.

    ours: a list of Interface (from parse_interfaces on our files).
    service_documents: a list of lists of Interface, one per service document.
    Returns (differences, number of our interfaces found in the service); no
    differences and a non-zero count means the service matches.
    """
    by_name = {}
    diffs = []
    for iface in ours:
        if iface.name in by_name:
            diffs.append(
                f"{iface.origin}: interface {iface.name} is also described in "
                f"{by_name[iface.name].origin}"
            )
            continue
        by_name[iface.name] = iface

    compared = set()
    for document in service_documents:
        for theirs in document:
            if theirs.name in by_name:
                diffs.extend(_compare_interface(by_name[theirs.name], theirs))
                compared.add(theirs.name)
            elif not theirs.name.startswith(STANDARD_PREFIX):
                diffs.append(
                    f"{theirs.origin}: the service has interface {theirs.name}, "
                    "which the contract does not describe"
                )

    # Matching nothing would let a wrong object path pass as success.
    if not compared and not diffs:
        diffs.append(
            "none of our interfaces ("
            + ", ".join(sorted(by_name))
            + ") is in the service's introspection"
        )
    return diffs, len(compared)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise IntrospectionError(f"{path}: {e.strerror}") from None


def compare_introspection(xml_dir, service_files):
    """Reads our *.xml files in xml_dir and the service's introspection
    documents at the paths service_files; returns what compare_interfaces
    returns. Raises IntrospectionError for unreadable or malformed input."""
    try:
        names = sorted(n for n in os.listdir(xml_dir) if n.endswith(".xml"))
    except OSError as e:
        raise IntrospectionError(f"{xml_dir}: {e.strerror}") from None
    if not names:
        raise IntrospectionError(f"{xml_dir}: no *.xml interface files")

    ours = []
    for name in names:
        path = os.path.join(xml_dir, name)
        ours.extend(parse_interfaces(_read(path), path))
    service = [parse_interfaces(_read(path), path) for path in service_files]
    return compare_interfaces(ours, service)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(
            "usage: compare_introspection.py XML_DIR SERVICE_INTROSPECTION_XML_FILE...",
            file=sys.stderr,
        )
        return 2
    try:
        diffs, count = compare_introspection(argv[0], argv[1:])
    except IntrospectionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for diff in diffs:
        print(diff)
    if diffs:
        return 1
    print(f"introspection matches {count} interfaces")
    return 0


if __name__ == "__main__":
    sys.exit(main())
