"""A real desktop notification server on a private session bus: dunst (1.9) on
its own Xvfb display, for the tests of mailspool's notifications
(org.freedesktop.Notifications: a flush's progress bar, updated in place with
replaces_id, then its summary; see service/bus/notify-dbus.c).

NotificationServer(bus_address) starts ``Xvfb :N -screen 0 800x600x24
-nolisten tcp`` on a free display number N (one whose /tmp/.X11-unix/XN and
/tmp/.XN-lock do not exist; should another server take it first, Xvfb exits
and the next number is tried). The display is ready (polled with a deadline)
when /tmp/.XN-lock names our Xvfb and its socket accepts a connection. Then it
starts ``dunst -conf FILE -print`` with DISPLAY=:N, DBUS_SESSION_BUS_ADDRESS
the given bus, WAYLAND_DISPLAY unset, and HOME, XDG_CONFIG_HOME,
XDG_DATA_HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR in a fresh temporary
directory. dunst is ready (polled with a deadline) when GetServerInformation
of org.freedesktop.Notifications answers on that bus, from the connection
whose process is our dunst. The private configuration (dunstrc below) keeps
an unlimited history, never stacks duplicates (a duplicate would replace the
older notification, which then reaches neither the history nor the screen),
has no idle threshold (Xvfb has no input: the "user" would be idle and
nothing would time out), and shows a notification sent with expire_timeout -1
for default_timeout seconds (60; critical ones until closed). A client's own
expire_timeout is honoured, unless override_timeout is given (then every
notification shows that many seconds, 0 = until closed: dunst's
override_dbus_timeout rule).

What dunst 1.9 tells about its notifications, and so what this module reports:

* ``dunstctl history`` (a shell script: ``busctl --user --json=pretty call
  org.freedesktop.Notifications /org/freedesktop/Notifications
  org.dunstproject.cmd0 NotificationListHistory``; busctl --user takes the bus
  from DBUS_SESSION_BUS_ADDRESS) prints ``{"type": "aa{sv}", "data": [[{KEY:
  {"type": T, "data": V}, ...}, ...]]}``, newest first, with the keys body,
  message (the formatted text), summary, appname, category,
  default_action_name, icon_path, id (i), timestamp (x, microseconds of
  CLOCK_BOOTTIME), timeout (x, microseconds; 0 = until closed) and progress (i,
  the "value" hint; -1 without one). It holds only the CLOSED notifications
  (expired, or closed by CloseNotification or dunstctl close): a displayed
  one is not in it. When dunst fails, the script prints "Dunst is not
  running." to stderr and exits 1 (busctl's own error is thrown away).
* ``dunstctl count [displayed|history|waiting]``: only numbers (the read-only
  properties displayedLength, historyLength and waitingLength of
  org.dunstproject.cmd0). dunst 1.9 has no call that lists the displayed
  notifications (NotificationListDisplayed exists only on an unmerged branch
  of dunst, not in any release up to 1.13.2).
* ``dunst -print`` (not shown by --help; see dunst(1)) prints every
  notification it accepts to stdout, flushed, while handling the Notify call,
  before it replies: a block ``{`` ... ``}`` of lines ``\\tKEY: VALUE``
  (appname, summary, body, icon, raw_icon set, icon_id, desktop_entry,
  category, timeout (ms), urgency (LOW, NORMAL, CRITICAL), transient,
  formatted, fg, bg, highlight, frame, fullscreen, format, progress, stack_tag,
  id, urls, actions, script_count); the strings are quoted with ' but not
  escaped, and formatted and format may span lines. dunst prints nothing for a
  notification whose formatted text is empty (it drops it; Notify returns 0).
  received() is this log, parsed: every Notify dunst took, replaced versions
  included.

So history() is dunst's own history (state "closed") together with the open
notifications (state "open": displayed or waiting), computed from the print
log: the newest version of every id that no later notification replaced (same
id: replaces_id; or, for a new id, the same stack_tag and appname: dunst's
x-dunst-stack-tag and x-canonical-private-synchronous hints), that dunst's
history does not hold (a history entry of the same id, appname, summary, body
and progress); a notification brought back from history (dunstctl
history-pop) is open again. The count of open ones is checked against
displayedLength + waitingLength (read before and after, unchanged), else it
is read again until a deadline (NotifyError then: e.g. a notification re-sent
word for word with replaces_id of its own closed self cannot be told from the
closed one). displayed() is the open ones alone.

How dunst 1.9 treats replaces_id (queues_notification_replace_id): the new
notification takes the old one's place (and id) in the displayed (or waiting)
queue; the old one is freed: no NotificationClosed signal, and it reaches
neither the history nor the screen again. Notify returns the same id. A
replaces_id that is not displayed or waiting (unknown, or already closed) is
"assigned anyway": a new notification with that id (Notify returns it), so the
history may then hold a closed notification of the same id. Ids start at 2
(next_notification_id starts at 1 and is pre-incremented).

Every dict (history(), displayed(), received()) has: id, appname, summary,
body, category, progress (-1: no "value" hint), value (the "value" hint:
progress, or None), timeout_ms (0 = until closed) and state ("open",
"closed", or "received" in received()); from the print log (open ones, and a
closed one whose print record is found): urgency, transient, desktop_entry,
stack_tag, icon, actions (a dict), formatted, urls, colors; from dunst's
history (closed ones): message, timestamp_us, default_action_name, icon_path.
All lists are oldest first: received() in the order the Notify calls came;
history() the closed ones in the order they were closed, then the open ones in
the order their ids first came (a replacement keeps the place of the one it
replaced). On the screen dunst sorts by urgency, then id (sort = yes).

screenshot(path) writes a PNG of the whole X screen (``import -window root
-display :N path``, ImageMagick) after a round trip to dunst (a property read:
dunst draws inside the call that queued the notification, so once a later call
of ours is answered the drawing is done and flushed to the X server), and
returns {"path", "bytes", "width", "height"}.

Processes run in the foreground as children of the test, with SIGTERM as their
parent-death signal (of the thread that started them); close() stops dunst,
then Xvfb (SIGTERM, bounded wait, SIGKILL; a killed Xvfb's lock file and
socket are removed) and removes the temporary directory; anything not closed
is closed at exit. No sleep is used as synchronisation; every wait polls up to
a deadline.

Needs the Debian packages dunst (dunst, dunstctl), xvfb (Xvfb), imagemagick
(import), dbus-bin (dbus-send, used by dunstctl), systemd (busctl) and a font
(fonts-dejavu-core comes with them). available() says whether the tools are
there. Run this file to self-check: it starts a private dbus-daemon and the
server, sends two notifications and one replacing the first with gdbus
(libglib2.0-bin), prints what history(), displayed() and received() say, and
writes a screenshot to /tmp/notify-selfcheck.png.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import children

XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"
DUNST = shutil.which("dunst") or "/usr/bin/dunst"
DUNSTCTL = shutil.which("dunstctl") or "/usr/bin/dunstctl"
BUSCTL = shutil.which("busctl") or "/usr/bin/busctl"
DBUS_SEND = shutil.which("dbus-send") or "/usr/bin/dbus-send"
IMPORT = shutil.which("import") or "/usr/bin/import"

_SCALE = float(os.environ.get("MAILSPOOL_TEST_TIMEOUT_SCALE", "1"))
READY_TIMEOUT = 15.0 * _SCALE
CALL_TIMEOUT = 10.0 * _SCALE
POLL_INTERVAL = 0.05

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
IFACE_NOTIFICATIONS = "org.freedesktop.Notifications"
IFACE_DUNST = "org.dunstproject.cmd0"

X11_SOCKET_DIR = "/tmp/.X11-unix"
FIRST_DISPLAY = 10
LAST_DISPLAY = 999
DISPLAY_ATTEMPTS = 5
SCREEN = "800x600x24"

DUNSTRC = """\
# mailspool's test configuration of dunst 1.9 (tests/integration/notifyd.py).
[global]
    monitor = 0
    follow = none
    width = 420
    height = 300
    origin = top-right
    offset = 10x10
    # Show every notification at once (0: no limit), none waits.
    notification_limit = 0
    indicate_hidden = yes
    progress_bar = true
    progress_bar_height = 10
    progress_bar_min_width = 150
    progress_bar_max_width = 400
    font = DejaVu Sans 10
    markup = full
    format = "<b>%s</b>\\n%b"
    show_age_threshold = -1
    # A duplicate would replace the older notification, which then would not
    # reach the history.
    stack_duplicates = false
    hide_duplicate_count = true
    # 0: the history keeps every closed notification.
    history_length = 0
    sticky_history = yes
    # Xvfb has no input: with a threshold the "user" is idle and nothing times out.
    idle_threshold = 0
    always_run_script = false
    dmenu = /bin/false
    browser = /bin/false
    mouse_left_click = none
    mouse_middle_click = none
    mouse_right_click = none

[urgency_low]
    background = "#222222"
    foreground = "#ffffff"
    timeout = {default_timeout}

[urgency_normal]
    background = "#285577"
    foreground = "#ffffff"
    timeout = {default_timeout}

[urgency_critical]
    background = "#900000"
    foreground = "#ffffff"
    frame_color = "#ff0000"
    timeout = 0
{rules}"""

OVERRIDE_RULE = """
[mailspool_test_timeout]
    appname = "*"
    override_dbus_timeout = {timeout}
"""


def available():
    return all(os.access(p, os.X_OK) for p in (XVFB, DUNST, DUNSTCTL, BUSCTL, DBUS_SEND, IMPORT))


class NotifyError(Exception):
    """The notification server did not start, or a tool failed."""


# --- Processes ---------------------------------------------------------------------

def _clean_env(base=None):
    env = dict(base if base is not None else os.environ)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "NOTIFY_SOCKET",
              "DBUS_SYSTEM_BUS_ADDRESS", "XDG_SESSION_ID", "XDG_SESSION_TYPE",
              "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION"):
        env.pop(k, None)
    env.update({"SYSTEMD_PAGER": "cat", "PAGER": "cat", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"})
    return env


def _wait(what, check, deadline, procs=(), log=None):
    """Polls check() (a value, or None/False for not yet) up to the deadline;
    fails at once when one of procs has exited."""
    last = None
    while True:
        try:
            value = check()
            if value:
                return value
        except NotifyError as e:
            last = e
        for p in procs:
            if p is not None and p.poll() is not None:
                raise NotifyError("%s: %s exited with %s; output:\n%s"
                                  % (what, p.args[0], p.returncode, log() if log else ""))
        if time.monotonic() >= deadline:
            raise NotifyError("%s: not within the deadline (last: %s); output:\n%s"
                              % (what, last, log() if log else ""))
        time.sleep(POLL_INTERVAL)  # the poll interval of a bounded wait


def _run(argv, env, timeout=CALL_TIMEOUT):
    try:
        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NotifyError("%s: no answer within %ss" % (" ".join(argv), timeout)) from None
    if r.returncode != 0:
        raise NotifyError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                               r.stderr.decode(errors="replace").strip()))
    return r.stdout.decode(errors="replace")


# --- X display ---------------------------------------------------------------------

def _display_paths(n):
    return os.path.join(X11_SOCKET_DIR, "X%d" % n), "/tmp/.X%d-lock" % n


def free_display(start=FIRST_DISPLAY):
    """The first display number from start whose socket and lock file do not exist."""
    for n in range(start, LAST_DISPLAY + 1):
        if not any(os.path.lexists(p) for p in _display_paths(n)):
            return n
    raise NotifyError("no free X display number in %d..%d" % (start, LAST_DISPLAY))


def _lock_pid(n):
    try:
        with open(_display_paths(n)[1]) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def _accepts(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise NotifyError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


# --- dunst's outputs ---------------------------------------------------------------

def parse_dunstctl_history(text):
    """``dunstctl history``'s JSON -> its notifications (newest first, as dunst
    gives them), each {key: value} with the variants unwrapped."""
    doc = json.loads(text)
    if doc.get("type") != "aa{sv}" or len(doc.get("data", [])) != 1:
        raise NotifyError("unexpected dunstctl history output: %.300s" % text)
    return [{k: v["data"] for k, v in n.items()} for n in doc["data"][0]]


_PRINT_KEYS = ("appname", "summary", "body", "icon", "raw_icon set", "icon_id", "desktop_entry",
               "category", "timeout", "urgency", "transient", "formatted", "fg", "bg",
               "highlight", "frame", "fullscreen", "format", "progress", "stack_tag", "id",
               "urls", "actions", "script_count", "scripts")
_QUOTED = ("appname", "summary", "body", "icon", "icon_id", "desktop_entry", "formatted")


def parse_print_log(text):
    """dunst -print's stdout -> one raw {key: text} per notification, in order.
    A line "\\tKEY: ..." with a known KEY starts a field; any other line
    continues the last one (formatted and format span lines); "urls" and
    "actions" are blocks "{" ... "}"."""
    records = []
    cur = None
    key = None
    block = None
    for line in text.split("\n"):
        if cur is None:
            if line == "{":
                cur, key, block = {}, None, None
            continue
        if block is not None:
            if line == "\t}":
                cur[key] = block
                block = None
            else:
                block.append(line.strip())
            continue
        if line == "}":
            records.append(cur)
            cur = None
            continue
        if line.startswith("\t"):
            k, sep, v = line[1:].partition(":")
            if sep and k in _PRINT_KEYS:
                key = k
                v = v[1:] if v.startswith(" ") else v
                if k == "urls" and v == "":
                    block = []
                elif k == "actions" and v == "{":
                    block = []
                else:
                    cur[k] = v
                continue
        if key is not None and isinstance(cur.get(key), str):
            cur[key] += "\n" + line
    return records


def _unquote(v):
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == "'" else v


def _int(v, default=0):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _from_print(raw):
    """A raw print record -> the module's dict."""
    progress = _int(raw.get("progress"), -1)
    actions = raw.get("actions")
    if isinstance(actions, list):
        parsed = {}
        for a in actions:
            k, sep, v = a.partition(": ")
            parsed[k.strip('"')] = v.strip('"')
        actions = parsed
    else:
        actions = {}
    urls = raw.get("urls")
    return {
        "id": _int(raw.get("id")),
        "appname": _unquote(raw.get("appname", "")),
        "summary": _unquote(raw.get("summary", "")),
        "body": _unquote(raw.get("body", "")),
        "category": "" if raw.get("category") in (None, "(null)") else raw["category"],
        "progress": progress,
        "value": progress if progress >= 0 else None,
        "timeout_ms": _int(raw.get("timeout")),
        "urgency": raw.get("urgency", ""),
        "transient": raw.get("transient") == "1",
        "desktop_entry": _unquote(raw.get("desktop_entry", "")),
        "stack_tag": raw.get("stack_tag", ""),
        "icon": _unquote(raw.get("icon", "")),
        "actions": actions,
        "formatted": _unquote(raw.get("formatted", "")),
        "urls": "\n".join(urls) if isinstance(urls, list) else "",
        "colors": {k: raw.get(k, "") for k in ("fg", "bg", "highlight", "frame")},
        "state": "received",
    }


def _from_history(h):
    progress = h.get("progress", -1)
    return {
        "id": h.get("id", 0),
        "appname": h.get("appname", ""),
        "summary": h.get("summary", ""),
        "body": h.get("body", ""),
        "category": h.get("category", ""),
        "progress": progress,
        "value": progress if progress >= 0 else None,
        "timeout_ms": h.get("timeout", 0) // 1000,
        "message": h.get("message", ""),
        "timestamp_us": h.get("timestamp", 0),
        "default_action_name": h.get("default_action_name", ""),
        "icon_path": h.get("icon_path", ""),
        "state": "closed",
    }


def _same(a, b):
    return all(a[k] == b[k] for k in ("id", "appname", "summary", "body", "progress"))


def open_notifications(received, closed):
    """The open ones among the received (the module docstring says how) ->
    [(index in received of the first notification of its id, dict)], in that
    order (a replacement keeps the place of the notification it replaced)."""
    out = []
    for i, r in enumerate(received):
        later = received[i + 1:]
        if any(x["id"] == r["id"] for x in later):
            continue  # replaced by replaces_id (or a later one of the same id)
        if r["stack_tag"] and any(x["stack_tag"] == r["stack_tag"] and
                                  x["appname"] == r["appname"] for x in later):
            continue  # replaced by a later one of its stack tag
        if any(_same(r, c) for c in closed):
            continue
        first = next(j for j, x in enumerate(received) if x["id"] == r["id"])
        out.append((first, dict(r, state="open")))
    return sorted(out, key=lambda t: t[0])


# --- The server --------------------------------------------------------------------

class NotificationServer:
    """dunst on its own Xvfb, owning org.freedesktop.Notifications on bus_address."""

    def __init__(self, bus_address, default_timeout=60, override_timeout=None,
                 timeout=READY_TIMEOUT):
        """default_timeout: seconds a notification sent with expire_timeout -1
        shows (low and normal urgency; critical: until closed).
        override_timeout: None, or seconds every notification shows whatever
        its expire_timeout (0: until closed)."""
        self.bus_address = bus_address
        self.closed = False
        self.xvfb = None
        self.dunst = None
        self.display_number = None
        self.display = None
        self.server_info = None
        self.dir = tempfile.mkdtemp(prefix="mailspool-notifyd-")
        self.config_path = os.path.join(self.dir, "dunstrc")
        self.print_path = os.path.join(self.dir, "dunst.print")
        self.log_path = os.path.join(self.dir, "dunst.log")
        self.xvfb_log_path = os.path.join(self.dir, "xvfb.log")
        home = os.path.join(self.dir, "home")
        runtime = os.path.join(self.dir, "run")
        for d in (home, runtime):
            os.makedirs(d, mode=0o700)
        self.env = _clean_env()
        self.env.update({
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_RUNTIME_DIR": runtime,
            "DBUS_SESSION_BUS_ADDRESS": bus_address,
        })
        rules = ("" if override_timeout is None
                 else OVERRIDE_RULE.format(timeout=int(override_timeout)))
        with open(self.config_path, "w") as f:
            f.write(DUNSTRC.format(default_timeout=int(default_timeout), rules=rules))
        children.live.add(self)
        try:
            deadline = time.monotonic() + timeout
            self._start_xvfb(deadline)
            self._start_dunst(deadline)
        except BaseException:
            self.close()
            raise

    # -- start

    def _start_xvfb(self, deadline):
        start = FIRST_DISPLAY
        for attempt in range(DISPLAY_ATTEMPTS):
            n = free_display(start)
            with open(self.xvfb_log_path, "ab") as log:
                log.write(b"== Xvfb :%d\n" % n)
                log.flush()
                proc = subprocess.Popen([XVFB, ":%d" % n, "-screen", "0", SCREEN,
                                         "-nolisten", "tcp"],
                                        stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, env=_clean_env(),
                                        preexec_fn=children.die_with_parent)
            self.xvfb, self.display_number, self.display = proc, n, ":%d" % n
            sock, _ = _display_paths(n)
            try:
                _wait("Xvfb :%d" % n, lambda: _lock_pid(n) == proc.pid and _accepts(sock),
                      deadline, [proc], self.xvfb_log)
                return
            except NotifyError:
                if proc.poll() is None or attempt == DISPLAY_ATTEMPTS - 1:
                    raise
                # Exited: someone else took :n between the check and the start.
                self.xvfb = None
                start = n + 1

    def _start_dunst(self, deadline):
        env = dict(self.env, DISPLAY=self.display)
        with open(self.print_path, "wb") as out, open(self.log_path, "ab") as log:
            self.dunst = subprocess.Popen([DUNST, "-conf", self.config_path, "-print"],
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=log,
                                          env=env, cwd=self.env["HOME"],
                                          preexec_fn=children.die_with_parent)

        def ready():
            owner = self._busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s",
                                 NOTIFICATIONS_NAME)
            if owner["data"][0] != self.dunst.pid:
                raise NotifyError("%s is owned by pid %s, not by our dunst (%d)"
                                  % (NOTIFICATIONS_NAME, owner["data"][0], self.dunst.pid))
            return self._busctl("call", NOTIFICATIONS_NAME, NOTIFICATIONS_PATH,
                                IFACE_NOTIFICATIONS, "GetServerInformation")["data"]

        self.server_info = _wait("dunst: %s on the bus" % NOTIFICATIONS_NAME, ready,
                                 deadline, [self.dunst, self.xvfb], self.log_text)

    # -- tools

    def _busctl(self, *args):
        out = _run([BUSCTL, "--address=" + self.bus_address, "--json=short", "--no-pager"]
                   + list(args), self.env)
        return json.loads(out) if out.strip() else None

    def dunstctl(self, *args):
        """Runs dunstctl ARGS against this server -> its stdout."""
        return _run([DUNSTCTL] + list(args), self.env)

    def log_text(self):
        return "dunst stderr:\n%s\ndunst -print:\n%s\nXvfb:\n%s" % (
            children.read_text(self.log_path), children.read_text(self.print_path), self.xvfb_log())

    def xvfb_log(self):
        return children.read_text(self.xvfb_log_path)

    # -- what the server holds

    def counts(self):
        """{"displayed", "waiting", "history"}: dunst's displayedLength,
        waitingLength and historyLength (what ``dunstctl count`` prints)."""
        out = {}
        for name in ("displayed", "waiting", "history"):
            out[name] = self._busctl("get-property", NOTIFICATIONS_NAME, NOTIFICATIONS_PATH,
                                     IFACE_DUNST, name + "Length")["data"]
        return out

    def dunst_history(self):
        """``dunstctl history``, parsed: the closed notifications, newest first,
        as dunst gives them (keys as in the module docstring, raw values)."""
        return parse_dunstctl_history(self.dunstctl("history"))

    def received(self):
        """Every notification dunst accepted, oldest first (the -print log)."""
        return [_from_print(r) for r in parse_print_log(children.read_text(self.print_path))]

    def history(self, timeout=CALL_TIMEOUT):
        """What dunst holds now, oldest first: its history (state "closed") and
        the displayed or waiting ones (state "open"); replaced versions are
        not in it (see received())."""
        return self._snapshot(timeout)

    def displayed(self, timeout=CALL_TIMEOUT):
        """The open notifications (displayed or waiting), oldest first."""
        return [n for n in self._snapshot(timeout) if n["state"] == "open"]

    def _snapshot(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            before = self.counts()
            hist = self.dunst_history()
            received = self.received()
            after = self.counts()
            closed = [_from_history(h) for h in reversed(hist)]
            opened = open_notifications(received, closed)
            if (before == after and len(closed) == after["history"]
                    and len(opened) == after["displayed"] + after["waiting"]):
                # Each closed one with its print record (the last one before the
                # open ones that match), for urgency and the other hints.
                for c in closed:
                    match = [r for r in received if _same(r, c)]
                    if match:
                        extra = dict(match[-1])
                        extra.update(c)
                        c.clear()
                        c.update(extra)
                # Oldest first: the closed in dunst's order, then the open ones
                # in the order their ids came.
                return closed + [o for _, o in opened]
            last = "counts %s then %s; %d closed, %d open computed" % (
                before, after, len(closed), len(opened))
            if time.monotonic() >= deadline:
                raise NotifyError("dunst's notifications did not settle: %s; output:\n%s"
                                  % (last, self.log_text()))
            time.sleep(POLL_INTERVAL)  # the poll interval of a bounded wait

    def wait_for(self, predicate, what="a notification", state=None, timeout=CALL_TIMEOUT):
        """Polls history() (bounded) until a notification satisfies predicate
        (and has the state, if given) -> that notification."""
        def check():
            for n in reversed(self.history()):
                if (state is None or n["state"] == state) and predicate(n):
                    return n
            return None
        return _wait("notification server: " + what, check, time.monotonic() + timeout,
                     [self.dunst], self.log_text)

    def close_notification(self, notification_id):
        """CloseNotification(id), as a client would (it goes to the history)."""
        self._busctl("call", NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, IFACE_NOTIFICATIONS,
                     "CloseNotification", "u", str(notification_id))

    def screenshot(self, path):
        """A PNG of the X screen -> {"path", "bytes", "width", "height"}."""
        self.counts()  # a round trip: dunst has drawn what it had before
        # The option order matters: "import -silent -display :N -window root"
        # fails with "unable to open X server `'".
        _run([IMPORT, "-window", "root", "-display", self.display, path],
             dict(self.env, DISPLAY=self.display))
        width, height = _png_size(path)
        return {"path": path, "bytes": os.path.getsize(path), "width": width, "height": height}

    # -- stop

    def close(self):
        if self.closed:
            return
        self.closed = True
        children.live.discard(self)
        try:
            children.stop(self.dunst)
        finally:
            try:
                children.stop(self.xvfb)
            finally:
                if self.xvfb is not None and self.display_number is not None:
                    # A killed Xvfb leaves its lock file and socket behind.
                    n = self.display_number
                    if _lock_pid(n) == self.xvfb.pid:
                        for p in _display_paths(n):
                            try:
                                os.unlink(p)
                            except OSError:
                                pass
                shutil.rmtree(self.dir, ignore_errors=True)


# --- Self-check ------------------------------------------------------------------------

def _notify(address, summary, body="", hints="{}", timeout_ms=5000, replaces_id=0):
    """Notify with gdbus, as the brief's client does -> the id."""
    env = dict(_clean_env(), DBUS_SESSION_BUS_ADDRESS=address)
    out = _run(["gdbus", "call", "--session", "--dest", NOTIFICATIONS_NAME,
                "--object-path", NOTIFICATIONS_PATH,
                "--method", IFACE_NOTIFICATIONS + ".Notify", "--", "mailspool", str(replaces_id),
                "", summary, body, "[]", hints, str(timeout_ms)], env)
    # "(uint32 2,)"
    return int(out.strip().strip("(),").split()[1])


def _show(title, value):
    print("--", title)
    print(value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False))


def _brief(ns):
    return [{k: n[k] for k in ("id", "state", "summary", "body", "value", "urgency",
                               "category", "timeout_ms") if k in n} for n in ns]


def _selfcheck():
    if not available() or not shutil.which("gdbus"):
        print("missing: Xvfb, dunst, dunstctl, busctl, dbus-send, import or gdbus")
        return 77
    tmp = tempfile.mkdtemp(prefix="mailspool-notifyd-check-")
    bus = server = None
    shot = "/tmp/notify-selfcheck.png"
    try:
        bus, address = children.private_bus(tmp)
        _show("bus", address)
        server = NotificationServer(address)
        _show("display", server.display)
        _show("GetServerInformation", server.server_info)

        first = _notify(address, "Sending 3 of 40 \u2014 work", "", "{'value': <int32 7>}")
        second = _notify(address, "Not delivered: hello", "550 no such user",
                         "{'urgency': <byte 2>, 'category': <'transfer'>}", 5000)
        _show("ids", {"first": first, "second": second})
        _show("counts", server.counts())
        _show("history() before the replacement", _brief(server.history()))
        third = _notify(address, "Sending 40 of 40 \u2014 work", "last one",
                        "{'value': <int32 97>}", 5000, replaces_id=first)
        _show("replacing %d returned" % first, third)
        assert third == first, "replaces_id %d gave %d" % (first, third)

        info = server.screenshot(shot)
        _show("screenshot", info)

        _show("counts", server.counts())
        _show("dunstctl history (closed only)", server.dunstctl("history"))
        _show("displayed()", _brief(server.displayed()))
        _show("received()", _brief(server.received()))
        assert [n["summary"] for n in server.displayed()] == [
            "Sending 40 of 40 \u2014 work", "Not delivered: hello"], server.displayed()
        assert server.displayed()[0]["value"] == 97

        server.close_notification(second)
        closed = server.wait_for(lambda n: n["id"] == second, "id %d closed" % second,
                                 state="closed")
        _show("after CloseNotification(%d): history()" % second, _brief(server.history()))
        _show("the closed one, in full", closed)
        assert closed["urgency"] == "CRITICAL" and closed["category"] == "transfer"
        _show("dunst stderr", children.read_text(server.log_path))
        print("OK")
        return 0
    finally:
        if server is not None:
            server.close()
        children.stop(bus)
        if bus is not None:
            bus.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(_selfcheck())
