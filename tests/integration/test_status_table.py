#!/usr/bin/env python3
"""Spooler.QueryStatusTable: columns, column selection, the restriction's
operators and errors, and the two procedures of the seed "Sending or receiving
a message on demand" done over the bus."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    ERR_INVALID_ARGS, FLUSH_DOWNLOAD, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_SPOOLER, IFACE_STATUS,
    IFACE_MESSAGE, MAPI_E_BAD_COLUMN, MAPI_E_TOO_COMPLEX, MAPI_SPOOLER, MAPI_TRANSPORT_PROVIDER,
    SPOOLER_PATH, STATUS_FLUSH_QUEUES, DaemonTestCase, V, make_message, transport_path)

LOCAL = transport_path("local")

# docs/bus-api.md: Spooler.QueryStatusTable columns and their types.
COLUMNS = {
    "EntryID": "o", "RowID": "u", "ObjectType": "u", "ResourceType": "u", "DisplayName": "s",
    "ProviderDisplay": "s", "ResourceMethods": "u", "ResourceFlags": "u", "StatusCode": "u",
    "StatusString": "s", "IdentityDisplay": "s",
}
# The Status property each column mirrors.
COLUMN_PROPERTY = {c: c for c in COLUMNS if c not in ("EntryID", "RowID", "ObjectType")}
MAPI_STATUS = 0xA  # MAPI's ObjectType of a status object (mapidefs.h: MAPI_STATUS 0x0000000A)

MAILDIR = "[Transport]\nKind=maildir\n"


def three_transports():
    """alpha, beta, gamma: three maildir transports; TransportOrder fixed."""
    return {
        "mailspool.conf": "[Spooler]\nTransportOrder=alpha beta gamma\n",
        "transports.d/alpha.conf": MAILDIR + "DisplayName=Alpha box\nSendMode=on-demand\n",
        "transports.d/beta.conf": MAILDIR + "DisplayName=Beta box\n",
        "transports.d/gamma.conf": MAILDIR + "DisplayName=Gamma box\n",
    }


class StatusTableTest(DaemonTestCase):

    def query(self, columns=(), restriction=()):
        return self.h.query_status_table(columns, restriction)

    def local_name(self):
        return self.h.get_property(LOCAL, IFACE_STATUS, "DisplayName")

    def entry_ids(self, restriction):
        return [r["EntryID"] for r in self.query(["EntryID"], restriction)]

    def bad_query(self, columns, restriction, code):
        return self.assertCallFails(ERR_INVALID_ARGS, code, SPOOLER_PATH, IFACE_SPOOLER,
                                    "QueryStatusTable", "asa(ssv)", columns, restriction)

    # docs/bus-api.md: Spooler.QueryStatusTable — one row per status object, every column
    def test_all_columns(self):
        (raw,) = self.h.call_raw(SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "asa(ssv)",
                                 [], [])["data"]
        self.assertEqual(len(raw), 2, "spooler + the one built-in transport: %r" % raw)
        for row in raw:
            self.assertEqual({k: v["type"] for k, v in row.items()}, COLUMNS,
                             "empty columns = all columns, with their types")
        rows = self.query()
        by_entry = {r["EntryID"]: r for r in rows}
        self.assertEqual(set(by_entry), {SPOOLER_PATH, LOCAL})
        row_ids = [r["RowID"] for r in rows]
        self.assertEqual(row_ids, sorted(row_ids), "rows come in RowID order")
        self.assertEqual(len(set(row_ids)), len(row_ids), "RowIDs are unique")
        self.assertEqual(by_entry[SPOOLER_PATH]["ResourceType"], MAPI_SPOOLER)
        self.assertEqual(by_entry[LOCAL]["ResourceType"], MAPI_TRANSPORT_PROVIDER)
        for r in rows:
            self.assertEqual(r["ObjectType"], MAPI_STATUS,
                             "ObjectType of a status row: MAPI_STATUS (0xA), MAPI's number")

    # docs/bus-api.md: the columns mirror the Status properties of the row's object
    def test_columns_agree_with_properties(self):
        for r in self.query():
            props = self.h.get_all(r["EntryID"], IFACE_STATUS)
            for col, prop in COLUMN_PROPERTY.items():
                self.assertEqual(r[col], props[prop], "%s: column %s" % (r["EntryID"], col))

    def test_column_selection(self):
        rows = self.query(["EntryID", "ResourceType"])
        self.assertEqual(len(rows), 2)
        for r in rows:
            self.assertEqual(set(r), {"EntryID", "ResourceType"})
        rows = self.query(["StatusCode"])
        self.assertEqual([set(r) for r in rows], [{"StatusCode"}, {"StatusCode"}])
        # Selection does not change the row order (RowID order).
        ids = [r["EntryID"] for r in self.query(["RowID", "EntryID"])]
        self.assertEqual(ids, [r["EntryID"] for r in self.query()])

    # docs/bus-api.md: unknown column -> InvalidArgs naming MAPI_E_BAD_COLUMN (0x80040118)
    def test_unknown_column(self):
        err = self.bad_query(["EntryID", "NoSuchColumn"], [], MAPI_E_BAD_COLUMN)
        self.assertIn("NoSuchColumn", err.message)
        self.bad_query(["PR_ENTRYID"], [], MAPI_E_BAD_COLUMN)

    def test_unknown_column_in_restriction(self):
        self.need_gdbus()
        err = self.h.call_error(SPOOLER_PATH, IFACE_SPOOLER, "QueryStatusTable", "asa(ssv)",
                                [], [("NoSuchColumn", "==", V("u", 1))])
        self.assertEqual(err.name, ERR_INVALID_ARGS)
        self.assertRegex(err.message, r"^MAPI_E_[A-Z_]+ \(0x[0-9A-F]{8}\):")

    # docs/bus-api.md: the restriction's eight operators
    def test_operators(self):
        cases = [
            (("ResourceType", "==", V("u", 37)), [SPOOLER_PATH]),
            (("ResourceType", "==", V("u", 36)), [LOCAL]),
            (("ResourceType", "!=", V("u", 37)), [LOCAL]),
            (("ResourceType", "<", V("u", 37)), [LOCAL]),
            (("ResourceType", "<", V("u", 36)), []),
            (("ResourceType", "<=", V("u", 37)), [SPOOLER_PATH, LOCAL]),
            (("ResourceType", "<=", V("u", 36)), [LOCAL]),
            (("ResourceType", ">", V("u", 36)), [SPOOLER_PATH]),
            (("ResourceType", ">", V("u", 37)), []),
            (("ResourceType", ">=", V("u", 36)), [SPOOLER_PATH, LOCAL]),
            (("ResourceType", ">=", V("u", 37)), [SPOOLER_PATH]),
            # spooler ResourceMethods 0x9, maildir transport 0x1
            (("ResourceMethods", "&", V("u", STATUS_FLUSH_QUEUES)), [SPOOLER_PATH]),
            (("ResourceMethods", "&", V("u", 0x1)), [SPOOLER_PATH, LOCAL]),
            (("ResourceMethods", "&", V("u", 0x6)), []),
            (("ResourceMethods", "!&", V("u", STATUS_FLUSH_QUEUES)), [LOCAL]),
            (("ResourceMethods", "!&", V("u", 0x6)), [SPOOLER_PATH, LOCAL]),
            (("DisplayName", "==", V("s", self.local_name())), [LOCAL]),
            (("DisplayName", "!=", V("s", self.local_name())), [SPOOLER_PATH]),
            (("EntryID", "==", V("o", LOCAL)), [LOCAL]),
            (("EntryID", "!=", V("o", LOCAL)), [SPOOLER_PATH]),
        ]
        order = [r["EntryID"] for r in self.query(["EntryID"])]
        for term, expected in cases:
            with self.subTest(term=(term[0], term[1], term[2].value)):
                want = [e for e in order if e in expected]
                self.assertEqual(self.entry_ids([term]), want)

    def test_restriction_is_an_and(self):
        self.assertEqual(self.entry_ids([("ResourceType", ">=", V("u", 36)),
                                         ("ResourceType", "<=", V("u", 36))]), [LOCAL])
        self.assertEqual(self.entry_ids([("ResourceType", "==", V("u", 37)),
                                         ("ResourceMethods", "!&", V("u", 8))]), [])
        # Restricting on a column that is not selected is allowed.
        rows = self.query(["DisplayName"], [("ResourceType", "==", V("u", 36))])
        self.assertEqual(rows, [{"DisplayName": self.local_name()}])

    # docs/bus-api.md: type mismatch or unknown op -> InvalidArgs naming MAPI_E_TOO_COMPLEX
    def test_type_mismatch(self):
        for term in [("ResourceType", "==", V("s", "37")),
                     ("DisplayName", "==", V("u", 1)),
                     ("ResourceMethods", "&", V("b", True)),
                     ("DisplayName", "&", V("u", 1)),
                     ("DisplayName", "==", V("i", 1)),
                     # A number out of the column's range 0..4294967295.
                     ("ResourceType", "==", V("i", -1)),
                     ("ResourceType", "==", V("t", 1 << 32))]:
            with self.subTest(term=(term[0], term[1], term[2].sig, term[2].value)):
                self.bad_query([], [term], MAPI_E_TOO_COMPLEX)

    # docs/bus-api.md: any integer type that fits compares with a u column (dbus-python
    # and gdbus send a plain number as int32)
    def test_any_integer_type(self):
        want = self.entry_ids([("ResourceType", "==", V("u", 36))])
        for sig in ("y", "n", "q", "i", "x", "t"):
            with self.subTest(sig=sig):
                self.assertEqual(self.entry_ids([("ResourceType", "==", V(sig, 36))]), want)
        # What gdbus itself sends for "<36>": an int32.
        rc, out, err = self.h._run(["gdbus", "call", "--session", "--dest", harness.BUS_NAME,
                                    "--object-path", SPOOLER_PATH, "--method",
                                    IFACE_SPOOLER + ".QueryStatusTable", "['EntryID']",
                                    "[('ResourceType', '==', <36>)]"])
        self.assertEqual(rc, 0, err)
        self.assertIn("transport", out)

    def test_unknown_operator(self):
        for op in ["=", "<>", "=~", "", "&&", "LIKE"]:
            with self.subTest(op=op):
                self.bad_query([], [("ResourceType", op, V("u", 37))], MAPI_E_TOO_COMPLEX)

    def test_error_changes_nothing(self):
        before = self.query()
        self.bad_query([], [("ResourceType", "~", V("u", 37))], MAPI_E_TOO_COMPLEX)
        self.assertEqual(self.query(), before)

    # Seed procedure 1 ("To flush all incoming or outgoing queues in a single
    # operation"), steps 1-6.
    def test_seed_procedure_1(self):
        held = self.h.submit_data(make_message(subject="procedure 1"), {"OnDemand": V("b", True)})
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "queued")
        rows = self.query(["EntryID", "ResourceType"],
                          [("ResourceType", "==", V("u", MAPI_SPOOLER))])
        self.assertEqual(rows, [{"EntryID": SPOOLER_PATH, "ResourceType": MAPI_SPOOLER}])
        spooler = rows[0]["EntryID"]
        self.assertEqual(self.h.get_property(spooler, IFACE_STATUS, "ResourceType"),
                         MAPI_SPOOLER)
        summary = self.h.flush("/", FLUSH_NO_UI | FLUSH_UPLOAD, path=spooler)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "sent")
        summary = self.h.flush("/", FLUSH_NO_UI | FLUSH_DOWNLOAD, path=spooler)
        self.assertEqual(summary["received"], 0, summary)

    # Seed procedure 2 ("To flush ... individually by transport provider"),
    # steps 1-5: no transport here has STATUS_FLUSH_QUEUES, so each is flushed
    # through the spooler with its EntryID as target (docs/bus-api.md: Status.FlushQueues).
    def test_seed_procedure_2(self):
        held = self.h.submit_data(make_message(subject="procedure 2"), {"OnDemand": V("b", True)})
        rows = self.query(["EntryID", "ResourceType"],
                          [("ResourceType", "==", V("u", MAPI_TRANSPORT_PROVIDER))])
        self.assertEqual(rows, [{"EntryID": LOCAL, "ResourceType": MAPI_TRANSPORT_PROVIDER}])
        self.assertEqual(self.query(["EntryID"],
                                    [("ResourceType", "==", V("u", MAPI_TRANSPORT_PROVIDER)),
                                     ("ResourceMethods", "&", V("u", STATUS_FLUSH_QUEUES))]),
                         [], "the maildir transport cannot flush itself")
        sent = 0
        for r in rows:
            methods = self.h.get_property(r["EntryID"], IFACE_STATUS, "ResourceMethods")
            self.assertFalse(methods & STATUS_FLUSH_QUEUES)
            summary = self.h.flush(r["EntryID"], FLUSH_NO_UI | FLUSH_UPLOAD)
            self.assertEqual(summary["failed"], 0, summary)
            sent += summary["sent"]
        self.assertEqual(sent, 1)
        self.assertEqual(self.h.get_property(held, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(len(self.h.maildir_files("local")), 1)


class StatusTableManyTransportsTest(DaemonTestCase):
    CONFIG = three_transports()

    def test_rows_and_order(self):
        rows = self.h.query_status_table()
        self.assertEqual(len(rows), 4)
        entries = {r["EntryID"] for r in rows}
        self.assertEqual(entries, {SPOOLER_PATH} | {transport_path(t)
                                                    for t in ("alpha", "beta", "gamma")})
        ids = [r["RowID"] for r in rows]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 4)
        names = {r["EntryID"]: r["DisplayName"] for r in rows}
        self.assertEqual(names[transport_path("beta")], "Beta box")
        order = self.h.get_property(SPOOLER_PATH, IFACE_SPOOLER, "TransportOrder")
        self.assertEqual(order, [transport_path(t) for t in ("alpha", "beta", "gamma")])

    def test_string_operators(self):
        got = [r["EntryID"] for r in self.h.query_status_table(
            ["EntryID"], [("DisplayName", "==", V("s", "Gamma box"))])]
        self.assertEqual(got, [transport_path("gamma")])
        got = self.h.query_status_table(
            ["EntryID"], [("ResourceType", "==", V("u", MAPI_TRANSPORT_PROVIDER)),
                          ("DisplayName", "!=", V("s", "Gamma box"))])
        self.assertEqual({r["EntryID"] for r in got},
                         {transport_path("alpha"), transport_path("beta")})

    # Seed procedure 2 over several transports, each flushed through the
    # spooler; only alpha (on-demand) holds mail.
    def test_seed_procedure_2_each_transport(self):
        msg = self.h.submit_data(make_message(subject="to alpha"),
                                 {"Transport": V("o", transport_path("alpha"))})
        self.assertEqual(self.h.get_property(msg, IFACE_MESSAGE, "State"), "queued")
        rows = self.h.query_status_table(
            ["EntryID", "ResourceType"], [("ResourceType", "==", V("u", MAPI_TRANSPORT_PROVIDER))])
        self.assertEqual(len(rows), 3)
        total = 0
        for r in rows:
            s = self.h.flush(r["EntryID"], FLUSH_NO_UI | FLUSH_UPLOAD)
            self.assertEqual((s["failed"], s["deferred"]), (0, 0), s)
            if r["EntryID"] == transport_path("alpha"):
                self.assertEqual(s["sent"], 1, s)
            else:
                self.assertEqual(s["sent"], 0, s)
            total += s["sent"]
        self.assertEqual(total, 1)
        self.assertEqual(self.h.get_property(msg, IFACE_MESSAGE, "State"), "sent")
        self.assertEqual(len(self.h.maildir_files("alpha")), 1)
        self.assertEqual(self.h.maildir_files("beta"), [])


if __name__ == "__main__":
    harness.main()
