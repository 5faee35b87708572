#!/usr/bin/env python3
"""Hand messages to mailspool and send them now, from Python through
libmailspool-glib (GObject introspection, namespace Mailspool 1.0): submit
each file, list what waits, flush with the progress printed.

    python3 examples/send-and-flush.py [--system] MESSAGE.eml...

The messages wait (OnDemand) until the flush, so that it has them to report
on. Without --system it talks to the user's own mailspoold --session."""

import sys

import gi

gi.require_version("Mailspool", "1.0")
from gi.repository import Gio, GLib, Mailspool  # noqa: E402


def main(argv):
    bus = Gio.BusType.SYSTEM if "--system" in argv else Gio.BusType.SESSION
    files = [a for a in argv if not a.startswith("--")]
    client = Mailspool.Client.new_for_bus_sync(bus, None)

    wait = GLib.Variant("a{sv}", {"OnDemand": GLib.Variant("b", True)})
    for name in files:
        path = client.submit_file_sync(Gio.File.new_for_path(name), wait, None)
        print("submitted %s as %s" % (name, path))

    queued = GLib.Variant("a{sv}", {"State": GLib.Variant("s", "queued")})
    rows = client.get_spooler().call_list_messages_sync(queued, None)
    for path, state, transport, subject, size, attempts, submitted in rows.unpack():
        print("%s  %-8s %-10s %6d bytes  %s" % (path, state, transport, size, subject))

    loop = GLib.MainLoop()
    outcome = {}

    def progress(transport, done, total, text, *user_data):
        print("progress: %d of %d (%s)" % (done, total, text))

    def finished(client, result, *user_data):
        try:
            outcome["summary"] = client.flush_finish(result).unpack()
        except GLib.Error as e:
            outcome["error"] = e.message
        loop.quit()

    # target None: every transport of TransportOrder.
    client.flush(target=None, flags=Mailspool.FlushFlags.UPLOAD, progress=progress,
                 cancellable=None, callback=finished)
    loop.run()
    if "error" in outcome:
        print("flush failed: " + outcome["error"])
        return 1
    s = outcome["summary"]
    print("sent %d, deferred %d, failed %d" % (s["sent"], s["deferred"], s["failed"]))
    for transport, name, message in s["errors"]:
        print("%s: %s: %s" % (transport, name, message))
    return 0 if not s["errors"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
