"""Two real desktop secret stores on a private session bus: GNOME Keyring (the
Secret Service, org.freedesktop.secrets) and GNOME Online Accounts
(org.gnome.OnlineAccounts), for the tests of mailspool's credential look-ups.

Keyring(bus_address) starts ``gnome-keyring-daemon --foreground
--components=secrets --unlock`` on the given bus, in a fresh temporary HOME,
XDG_DATA_HOME (where the keyring files go), XDG_CONFIG_HOME and
XDG_RUNTIME_DIR (where its control socket goes). --unlock reads the login
password from stdin: the daemon creates the "login" collection with it,
unlocked, and makes it the "default" alias; no display, prompter or PAM is
needed. It is ready (polled with a deadline) when ReadAlias("default") names a
collection whose Locked property is false. Items are stored with
``secret-tool store`` (and checked with ``secret-tool lookup``). lock() locks
the login collection (Service.Lock: no prompt); unlock() unlocks it again the
way pam_gnome_keyring does, over the daemon's control socket (a Secret Service
Unlock would need a prompter, which a headless bus does not have).
Keyring.get_secret() reads a secret the way a Secret Service client does
(OpenSession, SearchItems, GetSecrets) over ONE connection, with the "plain" or
the "dh-ietf1024-sha256-aes128-cbc-pkcs7" algorithm: a session belongs to the
connection that opened it and dies with it, so one ``busctl call`` per step
cannot do it (GetSecrets then fails with org.freedesktop.Secret.Error.NoSession,
"The session does not exist"). For that this module has a minimal D-Bus client
(DBusConnection, standard library only; AES-128-CBC decryption by ``openssl
enc``).

OnlineAccounts(bus_address, keyring, ...) starts ``goa-daemon`` on the same
bus with one account of the provider "imap_smtp" (IMAP and SMTP) written to
its XDG_CONFIG_HOME/goa-1.0/accounts.conf before the start, and the password
stored in the keyring the way GOA stores it: schema "org.gnome.OnlineAccounts",
attribute goa-identity "imap_smtp:gen0:<account id>", label "GOA imap_smtp
credentials for identity <account id>", secret the GVariant text
{'imap-password': <'PW'>, 'smtp-password': <'PW'>}. It is ready (polled with a
deadline) when GetManagedObjects of /org/gnome/OnlineAccounts has the object
/org/gnome/OnlineAccounts/Accounts/<id> with its Account interface (and Mail,
if mail is enabled). Note: goa-daemon checks every account by itself
(EnsureCredentials) soon after its start and again on network changes; for
imap_smtp that is a real IMAP logon (and an SMTP one if SmtpUseAuth) to the
configured servers; when that fails (refused, wrong password) it sets the
account's AttentionNeeded property to true. PasswordBased.GetPassword still
answers then; it fails ("No credentials found in the keyring") while the
keyring is locked. The daemon's log (G_MESSAGES_DEBUG=all) is
OnlineAccounts.log_text().

One Keyring and one OnlineAccounts per bus (each owns its well-known name).
Items stored without an xdg:schema attribute may later show
xdg:schema=org.freedesktop.Secret.Generic in their Attributes (seen once
goa-daemon has read the keyring): search by your own attributes only.

Processes run in the foreground as children of the test, with SIGTERM as their
parent-death signal (of the thread that started them); close() stops them (SIGTERM, bounded wait, SIGKILL) and
removes the temporary directories, and anything not closed is closed at exit.
No sleep is used as synchronisation; every wait polls up to a deadline.

Needs the Debian packages gnome-keyring (gnome-keyring-daemon), libsecret-tools
(secret-tool), gnome-online-accounts (/usr/libexec/goa-daemon), systemd
(busctl) and, for the dh algorithm only, openssl. keyring_available() and
online_accounts_available() say whether the tools are there (available():
both). Run this file to self-check: it starts a private dbus-daemon, the
keyring and GOA, and prints what it finds.
"""

import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse

import children

GNOME_KEYRING_DAEMON = shutil.which("gnome-keyring-daemon") or "/usr/bin/gnome-keyring-daemon"
SECRET_TOOL = shutil.which("secret-tool") or "/usr/bin/secret-tool"
BUSCTL = shutil.which("busctl") or "/usr/bin/busctl"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
GOA_DAEMON = next((p for p in ("/usr/libexec/goa-daemon",
                               "/usr/lib/gnome-online-accounts/goa-daemon")
                   if os.access(p, os.X_OK)), "/usr/libexec/goa-daemon")

_SCALE = float(os.environ.get("MAILSPOOL_TEST_TIMEOUT_SCALE", "1"))
READY_TIMEOUT = 15.0 * _SCALE
CALL_TIMEOUT = 10.0 * _SCALE
POLL_INTERVAL = 0.05

# The Secret Service (https://specifications.freedesktop.org/secret-service/).
SECRETS_NAME = "org.freedesktop.secrets"
SECRETS_PATH = "/org/freedesktop/secrets"
IFACE_SECRET_SERVICE = "org.freedesktop.Secret.Service"
IFACE_SECRET_COLLECTION = "org.freedesktop.Secret.Collection"
IFACE_SECRET_ITEM = "org.freedesktop.Secret.Item"
ALGORITHM_PLAIN = "plain"
ALGORITHM_DH = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
# RFC 2409 section 6.2, the "Second Oakley Group" (1024-bit MODP), generator 2:
# the group of dh-ietf1024-sha256-aes128-cbc-pkcs7.
DH_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
DH_GENERATOR = 2

# GNOME Online Accounts.
GOA_NAME = "org.gnome.OnlineAccounts"
GOA_PATH = "/org/gnome/OnlineAccounts"
GOA_ACCOUNT_PREFIX = GOA_PATH + "/Accounts/"
IFACE_GOA_ACCOUNT = "org.gnome.OnlineAccounts.Account"
IFACE_GOA_MAIL = "org.gnome.OnlineAccounts.Mail"
IFACE_GOA_PASSWORD_BASED = "org.gnome.OnlineAccounts.PasswordBased"
IFACE_GOA_OAUTH2_BASED = "org.gnome.OnlineAccounts.OAuth2Based"
IFACE_OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
GOA_SCHEMA = "org.gnome.OnlineAccounts"
GOA_IMAP_SMTP = "imap_smtp"
GOA_IMAP_SMTP_GENERATION = 0  # goa_provider_get_credentials_generation() of imap_smtp


def keyring_available():
    return all(os.access(p, os.X_OK) for p in (GNOME_KEYRING_DAEMON, SECRET_TOOL, BUSCTL))


def online_accounts_available():
    return keyring_available() and os.access(GOA_DAEMON, os.X_OK)


def available():
    return online_accounts_available()


class DesktopError(Exception):
    """A secret store did not start, or a tool failed."""


# --- Processes ---------------------------------------------------------------------

def _clean_env(base=None):
    env = dict(base if base is not None else os.environ)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK",
              "NOTIFY_SOCKET", "DBUS_SYSTEM_BUS_ADDRESS", "XDG_SESSION_ID",
              "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION"):
        env.pop(k, None)
    return env


# --- busctl ------------------------------------------------------------------------

def split_signature(sig):
    """'sa{sv}(oay)' -> ['s', 'a{sv}', '(oay)']"""
    out = []
    i = 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] in "({":
            depth = 0
            while True:
                if sig[j] in "({":
                    depth += 1
                elif sig[j] in ")}":
                    depth -= 1
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        out.append(sig[i:j])
        i = j
    return out


def decode_json(sig, data):
    """busctl --json's form of one value -> Python (variants unwrapped, structs
    as tuples, 'ay' as bytes, dicts as dicts)."""
    c = sig[0]
    if c == "v":
        return decode_json(data["type"], data["data"])
    if c == "a":
        elem = sig[1:]
        if elem[0] == "{":
            ksig, vsig = split_signature(elem[1:-1])
            return {(k if ksig in "sog" else json.loads(k)): decode_json(vsig, v)
                    for k, v in data.items()}
        if elem == "y":
            return bytes(data)
        return [decode_json(elem, x) for x in data]
    if c == "(":
        return tuple(decode_json(p, x) for p, x in zip(split_signature(sig[1:-1]), data))
    return data


class BusctlError(DesktopError):
    def __init__(self, argv, message):
        super().__init__("%s: %s" % (" ".join(argv), message))
        self.message = message


def busctl(address, *args, timeout=CALL_TIMEOUT):
    """Runs ``busctl --address=ADDRESS --json=short ARGS`` -> decoded values
    (a list, one per value of the reply; [] for none). BusctlError carries
    busctl's message ("Call failed: ..." without the error name)."""
    argv = [BUSCTL, "--address=" + address, "--json=short", "--no-pager",
            "--timeout=%d" % max(1, int(timeout))] + [str(a) for a in args]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        raise BusctlError(argv, "timed out") from None
    if r.returncode != 0:
        raise BusctlError(argv, r.stderr.strip())
    out = r.stdout.strip()
    if not out:
        return []
    j = json.loads(out)
    return [decode_json(t, d) for t, d in zip(split_signature(j["type"]), j["data"])] \
        if args[0] == "call" else [decode_json(j["type"], j["data"])]


def _wait(what, check, deadline, proc=None, log=None):
    """Polls check() (a value, or None/False for not yet) up to the deadline."""
    last = None
    while True:
        try:
            value = check()
            if value:
                return value
        except DesktopError as e:
            last = e
        if proc is not None and proc.poll() is not None:
            raise DesktopError("%s: the daemon exited with %s; its output:\n%s"
                               % (what, proc.returncode, log() if log else ""))
        if time.monotonic() >= deadline:
            raise DesktopError("%s: not within the deadline (last: %s); daemon output:\n%s"
                               % (what, last, log() if log else ""))
        time.sleep(POLL_INTERVAL)  # the poll interval of a bounded wait


# --- A minimal D-Bus client (one connection for several calls) ----------------------

class Variant:
    """A 'v' value: Variant('s', 'x')."""

    def __init__(self, sig, value):
        self.sig = sig
        self.value = value

    def __repr__(self):
        return "Variant(%r, %r)" % (self.sig, self.value)


class DBusCallError(DesktopError):
    def __init__(self, name, message):
        super().__init__("%s: %s" % (name, message))
        self.name = name
        self.message = message


_ALIGN = {"y": 1, "g": 1, "v": 1, "n": 2, "q": 2, "b": 4, "i": 4, "u": 4, "h": 4, "s": 4,
          "o": 4, "a": 4, "x": 8, "t": 8, "d": 8, "(": 8, "{": 8}
_FIXED = {"y": "B", "n": "h", "q": "H", "i": "i", "u": "I", "h": "I", "x": "q", "t": "Q",
          "d": "d"}


class _Writer:
    def __init__(self):
        self.buf = bytearray()

    def align(self, n):
        self.buf += b"\0" * (-len(self.buf) % n)

    def write(self, sig, value):
        c = sig[0]
        if c in _FIXED:
            self.align(_ALIGN[c])
            self.buf += struct.pack("<" + _FIXED[c], value)
        elif c == "b":
            self.align(4)
            self.buf += struct.pack("<I", 1 if value else 0)
        elif c in "so":
            b = value.encode()
            self.align(4)
            self.buf += struct.pack("<I", len(b)) + b + b"\0"
        elif c == "g":
            b = value.encode()
            self.buf += bytes([len(b)]) + b + b"\0"
        elif c == "v":
            self.write("g", value.sig)
            self.write(value.sig, value.value)
        elif c in "({":
            self.align(8)
            for t, v in zip(split_signature(sig[1:-1]), value):
                self.write(t, v)
        elif c == "a":
            elem = sig[1:]
            self.align(4)
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.align(_ALIGN[elem[0]])
            start = len(self.buf)
            if elem == "y":
                self.buf += bytes(value)
            elif elem[0] == "{":
                for kv in value.items():
                    self.write(elem, kv)
            else:
                for v in value:
                    self.write(elem, v)
            struct.pack_into("<I", self.buf, at, len(self.buf) - start)
        else:
            raise ValueError("unsupported type %r" % sig)


class _Reader:
    def __init__(self, data, endian, pos=0):
        self.data = data
        self.e = endian
        self.pos = pos

    def align(self, n):
        self.pos += -self.pos % n

    def read(self, sig):
        c = sig[0]
        d = self.data
        if c in _FIXED:
            self.align(_ALIGN[c])
            v = struct.unpack_from(self.e + _FIXED[c], d, self.pos)[0]
            self.pos += struct.calcsize(_FIXED[c])
            return v
        if c == "b":
            return bool(self.read("u"))
        if c in "so":
            n = self.read("u")
            v = bytes(d[self.pos:self.pos + n]).decode()
            self.pos += n + 1
            return v
        if c == "g":
            n = d[self.pos]
            v = bytes(d[self.pos + 1:self.pos + 1 + n]).decode()
            self.pos += n + 2
            return v
        if c == "v":
            s = self.read("g")
            return Variant(s, self.read(s))
        if c in "({":
            self.align(8)
            return tuple(self.read(t) for t in split_signature(sig[1:-1]))
        if c == "a":
            elem = sig[1:]
            n = self.read("u")
            self.align(_ALIGN[elem[0]])
            end = self.pos + n
            if elem == "y":
                self.pos = end
                return bytes(d[end - n:end])
            items = []
            while self.pos < end:
                items.append(self.read(elem))
            return dict(items) if elem[0] == "{" else items
        raise ValueError("unsupported type %r" % sig)


def _socket_address(address):
    for part in address.split(";"):
        if not part.startswith("unix:"):
            continue
        kv = dict(x.split("=", 1) for x in part[5:].split(",") if "=" in x)
        if "path" in kv:
            return urllib.parse.unquote(kv["path"])
        if "abstract" in kv:
            return "\0" + urllib.parse.unquote(kv["abstract"])
    raise DesktopError("no unix:path= or unix:abstract= in the bus address %r" % address)


class DBusConnection:
    """One authenticated connection to a bus (EXTERNAL), enough for method
    calls: call() sends one and waits (bounded) for its reply; signals that
    arrive meanwhile are kept in self.signals as (path, interface, member,
    args)."""

    def __init__(self, address, timeout=CALL_TIMEOUT, trace=None):
        """trace: a function given one line per call and reply (or None)."""
        self.trace = trace
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.serial = 0
        self.signals = []
        self._buf = bytearray()
        try:
            self.sock.connect(_socket_address(address))
            uid = str(os.geteuid()).encode().hex().encode()
            self.sock.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
            line = self._line()
            if not line.startswith(b"OK "):
                raise DesktopError("bus refused EXTERNAL authentication: %r" % line)
            self.sock.sendall(b"BEGIN\r\n")
            self.unique_name = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "Hello")[0]
        except BaseException:
            self.sock.close()
            raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self):
        while b"\r\n" not in self._buf:
            self._fill()
        line, _, rest = bytes(self._buf).partition(b"\r\n")
        self._buf = bytearray(rest)
        return line

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise DesktopError("the bus closed the connection")
        self._buf += chunk

    def _message(self):
        while len(self._buf) < 16:
            self._fill()
        endian = "<" if self._buf[0:1] == b"l" else ">"
        body_len, _, fields_len = struct.unpack_from(endian + "III", self._buf, 4)
        header_len = 16 + fields_len + (-(16 + fields_len) % 8)
        total = header_len + body_len
        while len(self._buf) < total:
            self._fill()
        data = bytes(self._buf[:total])
        del self._buf[:total]
        r = _Reader(data, endian, 12)
        fields = dict(r.read("a(yv)"))
        fields = {k: v.value for k, v in fields.items()}
        sig = fields.get(8, "")
        r = _Reader(data[header_len:], endian)
        body = [r.read(t) for t in split_signature(sig)]
        return data[1], fields, body

    def call(self, destination, path, interface, member, sig="", *args):
        """-> the reply's values (a list); DBusCallError for an error reply."""
        self.serial += 1
        serial = self.serial
        body = _Writer()
        for t, a in zip(split_signature(sig), args):
            body.write(t, a)
        fields = [(1, Variant("o", path)), (2, Variant("s", interface)),
                  (3, Variant("s", member)), (6, Variant("s", destination))]
        if sig:
            fields.append((8, Variant("g", sig)))
        head = _Writer()
        head.buf += b"l\x01\x00\x01"
        head.write("u", len(body.buf))
        head.write("u", serial)
        head.write("a(yv)", fields)
        head.align(8)
        self.sock.sendall(bytes(head.buf + body.buf))
        if self.trace and interface != "org.freedesktop.DBus":
            self.trace("call   %s %s.%s %s %s" % (path, interface, member, sig,
                                                  _show_values(args)))
        while True:
            mtype, fields, body = self._message()
            if mtype == 4:
                self.signals.append((fields.get(1), fields.get(2), fields.get(3), body))
            elif mtype in (2, 3) and fields.get(5) == serial:
                if self.trace and interface != "org.freedesktop.DBus":
                    if mtype == 3:
                        self.trace("error  %s: %s" % (fields.get(4), body[0] if body else ""))
                    else:
                        self.trace("reply  %s %s" % (fields.get(8, ""), _show_values(body)))
                if mtype == 3:
                    raise DBusCallError(fields.get(4), body[0] if body else "")
                return body


def _show_values(values):
    def one(v):
        if isinstance(v, Variant):
            return "<%s %s>" % (v.sig, one(v.value))
        if isinstance(v, (bytes, bytearray)):
            text = bytes(v).hex()
            return "ay[%d] %s" % (len(v), text if len(text) <= 40 else text[:40] + "...")
        if isinstance(v, dict):
            return "{" + ", ".join("%s: %s" % (one(k), one(x)) for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(one(x) for x in v) + "]"
        if isinstance(v, tuple):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return repr(v)
    return " ".join(one(v) for v in values)


def _hkdf_sha256(ikm, length):
    # RFC 5869 with no salt (HashLen zero bytes) and no info, as gnome-keyring
    # and libsecret do it (egg_hkdf_perform("sha256", ikm, NULL, NULL, 16)).
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def _aes128_cbc_decrypt(key, iv, data):
    r = subprocess.run([OPENSSL, "enc", "-d", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex()],
                       input=data, capture_output=True, timeout=CALL_TIMEOUT)
    if r.returncode != 0:
        raise DesktopError("openssl enc -d -aes-128-cbc: " + r.stderr.decode(errors="replace"))
    return r.stdout


class SecretServiceSession:
    """OpenSession on a DBusConnection; decrypt() turns a Secret struct
    (session, parameters, value, content type) into the secret's bytes."""

    def __init__(self, conn, algorithm=ALGORITHM_PLAIN):
        self.conn = conn
        self.algorithm = algorithm
        if algorithm == ALGORITHM_PLAIN:
            out, self.path = conn.call(SECRETS_NAME, SECRETS_PATH, IFACE_SECRET_SERVICE,
                                       "OpenSession", "sv", algorithm, Variant("s", ""))
            self.key = None
        elif algorithm == ALGORITHM_DH:
            priv = secrets.randbelow(DH_PRIME - 3) + 2
            pub = pow(DH_GENERATOR, priv, DH_PRIME)
            pub_bytes = pub.to_bytes((pub.bit_length() + 7) // 8, "big")
            out, self.path = conn.call(SECRETS_NAME, SECRETS_PATH, IFACE_SECRET_SERVICE,
                                       "OpenSession", "sv", algorithm, Variant("ay", pub_bytes))
            peer = int.from_bytes(out.value, "big")
            shared = pow(peer, priv, DH_PRIME).to_bytes(128, "big")  # padded to the prime
            self.key = _hkdf_sha256(shared, 16)
        else:
            out, self.path = conn.call(SECRETS_NAME, SECRETS_PATH, IFACE_SECRET_SERVICE,
                                       "OpenSession", "sv", algorithm, Variant("s", ""))
            self.key = None
        self.output = out

    def decrypt(self, secret):
        _session, parameters, value, _content_type = secret
        if self.key is None:
            return value
        return _aes128_cbc_decrypt(self.key, parameters, value)

    def close(self):
        self.conn.call(SECRETS_NAME, self.path, "org.freedesktop.Secret.Session", "Close")


# --- GNOME Keyring -------------------------------------------------------------------

CONTROL_OP_UNLOCK = 1  # gkd-control-codes.h
CONTROL_RESULTS = {0: "OK", 1: "DENIED", 2: "FAILED", 3: "NO_DAEMON"}


class Keyring:
    """gnome-keyring-daemon (secrets component only) on a private bus with an
    unlocked login keyring ("default" alias)."""

    def __init__(self, bus_address, password="mailspool keyring", timeout=READY_TIMEOUT):
        self.bus_address = bus_address
        self.password = password
        self.proc = None
        self.closed = False
        self.dir = tempfile.mkdtemp(prefix="mailspool-keyring-")
        self.home = os.path.join(self.dir, "home")
        self.data_home = os.path.join(self.dir, "data")
        self.config_home = os.path.join(self.dir, "config")
        self.runtime_dir = os.path.join(self.dir, "run")
        for d in (self.home, self.data_home, self.config_home, self.runtime_dir):
            os.makedirs(d, mode=0o700)
        self.log_path = os.path.join(self.dir, "gnome-keyring-daemon.log")
        self.env = _clean_env()
        self.env.update({
            "HOME": self.home, "XDG_DATA_HOME": self.data_home,
            "XDG_CONFIG_HOME": self.config_home, "XDG_CACHE_HOME": os.path.join(self.dir, "cache"),
            "XDG_RUNTIME_DIR": self.runtime_dir, "DBUS_SESSION_BUS_ADDRESS": bus_address,
            "GSETTINGS_BACKEND": "memory",
        })
        self.collection = None
        children.live.add(self)
        try:
            self._start(timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [GNOME_KEYRING_DAEMON, "--foreground", "--components=secrets", "--unlock"],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                preexec_fn=children.die_with_parent)
        # --unlock: the login password, read from stdin up to EOF.
        try:
            self.proc.stdin.write(self.password.encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # it exited: the wait below reports that, with its output
        deadline = time.monotonic() + timeout

        def ready():
            path = self._call("ReadAlias", "s", "default")[0]
            if path == "/":
                return None
            return path if not self.is_locked(path) else None

        self.collection = _wait("gnome-keyring: an unlocked default collection", ready, deadline,
                                self.proc, self.log_text)

    def _call(self, method, sig="", *args, path=SECRETS_PATH, iface=IFACE_SECRET_SERVICE):
        return busctl(self.bus_address, "call", SECRETS_NAME, path, iface, method,
                      *([sig] + _flat(sig, args) if sig else []))

    def log_text(self):
        return children.read_text(self.log_path)

    def is_locked(self, collection=None):
        return busctl(self.bus_address, "get-property", SECRETS_NAME,
                      collection or self.collection, IFACE_SECRET_COLLECTION, "Locked")[0]

    def _tool(self, *args, stdin=None):
        return subprocess.run([SECRET_TOOL] + list(args), input=stdin, capture_output=True,
                              text=True, env=self.env, timeout=CALL_TIMEOUT)

    def store(self, label, attributes, secret):
        """secret-tool store into the default collection (an item with the same
        attributes is replaced), checked with secret-tool lookup. -> the item's
        object path."""
        args = ["store", "--label=" + label]
        for k, v in attributes.items():
            args += [k, v]
        r = self._tool(*args, stdin=secret)
        if r.returncode != 0:
            raise DesktopError("secret-tool store failed (%d): %s" % (r.returncode, r.stderr))
        got = self.lookup(attributes)
        if got != secret:
            raise DesktopError("secret-tool lookup after store: %r, not %r" % (got, secret))
        unlocked, _locked = self.search(attributes)
        if not unlocked:
            raise DesktopError("SearchItems does not find the stored item %r" % (attributes,))
        return unlocked[0]

    def lookup(self, attributes):
        """secret-tool lookup -> the secret (str), or None when there is none
        (or the keyring is locked: secret-tool cannot prompt here)."""
        args = ["lookup"]
        for k, v in attributes.items():
            args += [k, v]
        r = self._tool(*args)
        return r.stdout if r.returncode == 0 else None

    def clear(self, attributes):
        args = ["clear"]
        for k, v in attributes.items():
            args += [k, v]
        self._tool(*args)

    def search(self, attributes):
        """Service.SearchItems -> (unlocked item paths, locked item paths)."""
        unlocked, locked = self._call("SearchItems", "a{ss}", attributes)
        return unlocked, locked

    def item_attributes(self, item):
        return busctl(self.bus_address, "get-property", SECRETS_NAME, item, IFACE_SECRET_ITEM,
                      "Attributes")[0]

    def get_secret(self, attributes, algorithm=ALGORITHM_PLAIN, trace=None):
        """Reads a secret as a Secret Service client does, on one connection:
        OpenSession(algorithm), SearchItems(attributes), GetSecrets([first
        unlocked item], session). -> (item path, secret bytes, content type);
        DesktopError when no unlocked item matches. trace: see DBusConnection."""
        with DBusConnection(self.bus_address, trace=trace) as conn:
            session = SecretServiceSession(conn, algorithm)
            unlocked, locked = conn.call(SECRETS_NAME, SECRETS_PATH, IFACE_SECRET_SERVICE,
                                         "SearchItems", "a{ss}", attributes)
            if not unlocked:
                raise DesktopError("no unlocked item matches %r (locked: %r)" % (attributes, locked))
            found = conn.call(SECRETS_NAME, SECRETS_PATH, IFACE_SECRET_SERVICE, "GetSecrets",
                              "aoo", unlocked[:1], session.path)[0]
            secret = found[unlocked[0]]
            return unlocked[0], session.decrypt(secret), secret[3]

    def lock(self):
        """Locks the default collection (Service.Lock needs no prompt)."""
        self._call("Lock", "ao", [self.collection])
        if not self.is_locked():
            raise DesktopError("the collection is not locked after Lock")

    def unlock(self, password=None):
        """Unlocks the login collection with its password over the daemon's
        control socket ($XDG_RUNTIME_DIR/keyring/control), as pam_gnome_keyring
        does: a credentials byte, then a packet [length, op UNLOCK, password]
        (big-endian uint32s, the string length-prefixed); the answer is
        [length 8, result]. Secret Service Unlock would need a prompter."""
        pw = (self.password if password is None else password).encode()
        packet = struct.pack(">I", CONTROL_OP_UNLOCK) + struct.pack(">I", len(pw)) + pw
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(CALL_TIMEOUT)
            s.connect(os.path.join(self.runtime_dir, "keyring", "control"))
            s.sendall(b"\0")
            s.sendall(struct.pack(">I", 4 + len(packet)) + packet)
            answer = b""
            while len(answer) < 8:
                chunk = s.recv(8 - len(answer))
                if not chunk:
                    break
                answer += chunk
        if len(answer) != 8:
            raise DesktopError("gnome-keyring control socket: short answer %r" % answer)
        result = struct.unpack(">I", answer[4:])[0]
        if result != 0:
            raise DesktopError("gnome-keyring control socket: unlock %s"
                               % CONTROL_RESULTS.get(result, result))
        _wait("gnome-keyring: collection unlocked", lambda: not self.is_locked(),
              time.monotonic() + READY_TIMEOUT, self.proc, self.log_text)

    def close(self):
        if self.closed:
            return
        self.closed = True
        children.live.discard(self)
        try:
            children.stop(self.proc)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _flat(sig, args):
    """Python values -> busctl's command-line form (the types used here)."""
    out = []

    def one(t, v):
        c = t[0]
        if c == "a" and t[1] == "{":
            out.append(str(len(v)))
            for k, x in v.items():
                out.extend([str(k), str(x)])
        elif c == "a":
            out.append(str(len(v)))
            for x in v:
                one(t[1:], x)
        elif c == "b":
            out.append("true" if v else "false")
        else:
            out.append(str(v))

    for t, a in zip(split_signature(sig), args):
        one(t, a)
    return out


# --- GNOME Online Accounts ----------------------------------------------------------

def gvariant_string(s):
    """A GVariant text-format string literal: 'it\\'s'."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def goa_password_credentials(imap_password, smtp_password=None):
    """The secret GOA keeps for an imap_smtp account: g_variant_print() of an
    a{sv} with the two passwords."""
    smtp = imap_password if smtp_password is None else smtp_password
    return "{'imap-password': <%s>, 'smtp-password': <%s>}" % (
        gvariant_string(imap_password), gvariant_string(smtp))


def goa_identity(provider, generation, account_id):
    """The goa-identity attribute of an account's keyring item."""
    return "%s:gen%d:%s" % (provider, generation, account_id)


GOA_GOOGLE = "google"
GOA_GOOGLE_GENERATION = 11  # goa_provider_get_credentials_generation() of google (3.46)


def goa_oauth2_credentials(access_token, expires_at_usec=None, refresh_token=None):
    """The secret GOA keeps for an OAuth2 account. GetAccessToken answers the
    stored token without the network when there is no refresh_token, or when
    it expires more than 10 minutes from now; otherwise it refreshes (network)."""
    parts = ["'access_token': <%s>" % gvariant_string(access_token)]
    if expires_at_usec is not None:
        parts.append("'access_token_expires_at': <int64 %d>" % expires_at_usec)
    if refresh_token is not None:
        parts.append("'refresh_token': <%s>" % gvariant_string(refresh_token))
    return "{" + ", ".join(parts) + "}"


def goa_google_account(keyring, account_id, email, credentials):
    """accounts.conf text of a google account (for extra_accounts), with its
    credentials (goa_oauth2_credentials()) stored in the keyring first."""
    keyring.store("GOA %s credentials for identity %s" % (GOA_GOOGLE, account_id),
                  {"xdg:schema": GOA_SCHEMA,
                   "goa-identity": goa_identity(GOA_GOOGLE, GOA_GOOGLE_GENERATION, account_id)},
                  credentials)
    return ("[Account %s]\nProvider=%s\nIdentity=%s\nPresentationIdentity=%s\n"
            "MailEnabled=true\n\n" % (account_id, GOA_GOOGLE, email, email))


class OnlineAccounts:
    """goa-daemon on a private bus with one imap_smtp account."""

    def __init__(self, bus_address, keyring, account_id="mailspool_test",
                 email="alice@example.test", name="Alice Tester",
                 imap_host="127.0.0.1:143", smtp_host="127.0.0.1:25",
                 user="alice", password="correct horse", smtp_user=None, smtp_password=None,
                 imap_use_ssl=False, imap_use_tls=False, smtp_use_ssl=False, smtp_use_tls=False,
                 accept_ssl_errors=False, smtp_use_auth=True, smtp_auth_login=False,
                 smtp_auth_plain=True, mail_enabled=True, store_password=True,
                 extra_accounts="", timeout=READY_TIMEOUT):
        """keyring: a Keyring on the same bus (the password goes into it unless
        store_password is false; None: no keyring). account_id: [A-Za-z0-9_]
        (it is the last element of the object path). Hosts are "host:port"
        (the form GOA keeps). extra_accounts: more accounts.conf text, verbatim
        (see goa_google_account())."""
        self.bus_address = bus_address
        self.keyring = keyring
        self.account_id = account_id
        self.account_path = GOA_ACCOUNT_PREFIX + account_id
        self.proc = None
        self.closed = False
        self.dir = tempfile.mkdtemp(prefix="mailspool-goa-")
        self.config_home = os.path.join(self.dir, "config")
        for d in ("home", "config/goa-1.0", "data", "cache", "run"):
            os.makedirs(os.path.join(self.dir, d), mode=0o700)
        self.log_path = os.path.join(self.dir, "goa-daemon.log")
        self.accounts_conf = os.path.join(self.config_home, "goa-1.0", "accounts.conf")
        b = lambda v: "true" if v else "false"  # noqa: E731
        conf = ["[Account %s]" % account_id,
                "Provider=" + GOA_IMAP_SMTP,
                "Identity=" + email,
                "PresentationIdentity=" + email,
                # imap_smtp reads "Enabled" (google and others read "MailEnabled").
                "Enabled=" + b(mail_enabled),
                "EmailAddress=" + email,
                "Name=" + name,
                "ImapHost=" + imap_host,
                "ImapUserName=" + user,
                "ImapUseSsl=" + b(imap_use_ssl),
                "ImapUseTls=" + b(imap_use_tls),
                "ImapAcceptSslErrors=" + b(accept_ssl_errors),
                "SmtpHost=" + smtp_host,
                "SmtpUseAuth=" + b(smtp_use_auth),
                "SmtpUserName=" + (smtp_user or user),
                "SmtpAuthLogin=" + b(smtp_auth_login),
                "SmtpAuthPlain=" + b(smtp_auth_plain),
                "SmtpUseSsl=" + b(smtp_use_ssl),
                "SmtpUseTls=" + b(smtp_use_tls),
                "SmtpAcceptSslErrors=" + b(accept_ssl_errors)]
        with open(self.accounts_conf, "w") as f:
            f.write("\n".join(conf) + "\n\n" + extra_accounts)
        self.mail_enabled = mail_enabled
        self.credentials_attributes = {
            "xdg:schema": GOA_SCHEMA,
            "goa-identity": goa_identity(GOA_IMAP_SMTP, GOA_IMAP_SMTP_GENERATION, account_id)}
        self.credentials_label = "GOA %s credentials for identity %s" % (GOA_IMAP_SMTP, account_id)
        self.env = _clean_env()
        self.env.update({
            "HOME": os.path.join(self.dir, "home"), "XDG_CONFIG_HOME": self.config_home,
            "XDG_DATA_HOME": os.path.join(self.dir, "data"),
            "XDG_CACHE_HOME": os.path.join(self.dir, "cache"),
            "XDG_RUNTIME_DIR": os.path.join(self.dir, "run"),
            "DBUS_SESSION_BUS_ADDRESS": bus_address,
            "GSETTINGS_BACKEND": "memory", "GIO_USE_VFS": "local", "NO_AT_BRIDGE": "1",
            "G_MESSAGES_DEBUG": "all",
        })
        children.live.add(self)
        try:
            if keyring is not None and store_password:
                keyring.store(self.credentials_label, self.credentials_attributes,
                              goa_password_credentials(password, smtp_password))
            self._start(timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([GOA_DAEMON], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         preexec_fn=children.die_with_parent)
        want = {IFACE_GOA_ACCOUNT} | ({IFACE_GOA_MAIL} if self.mail_enabled else set())

        def ready():
            objects = self.managed_objects()
            obj = objects.get(self.account_path)
            return obj is not None and want <= set(obj)

        _wait("goa-daemon: account %s" % self.account_path, ready,
              time.monotonic() + timeout, self.proc, self.log_text)

    def log_text(self):
        return children.read_text(self.log_path)

    def managed_objects(self):
        """GetManagedObjects -> {path: {interface: {property: value}}}."""
        return busctl(self.bus_address, "call", GOA_NAME, GOA_PATH, IFACE_OBJECT_MANAGER,
                      "GetManagedObjects")[0]

    def account_properties(self, path=None):
        """{interface: {property: value}} of the account object."""
        return self.managed_objects()[path or self.account_path]

    def get_password(self, key="imap-password", path=None):
        """PasswordBased.GetPassword(key) -> the password; BusctlError with
        GOA's message when it fails."""
        return busctl(self.bus_address, "call", GOA_NAME, path or self.account_path,
                      IFACE_GOA_PASSWORD_BASED, "GetPassword", "s", key)[0]

    def wait_property(self, iface, name, value, timeout=READY_TIMEOUT, path=None):
        """Polls (bounded) until the account's property has the value."""
        _wait("goa-daemon: %s.%s == %r" % (iface, name, value),
              lambda: self.account_properties(path).get(iface, {}).get(name, object()) == value,
              time.monotonic() + timeout, self.proc, self.log_text)

    def close(self):
        if self.closed:
            return
        self.closed = True
        children.live.discard(self)
        try:
            children.stop(self.proc)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- Self-check ------------------------------------------------------------------------

def _show(title, value):
    print("--", title)
    print(value if isinstance(value, str) else json.dumps(value, indent=1, default=repr))


def _selfcheck():
    if not online_accounts_available():
        print("missing: gnome-keyring-daemon, secret-tool, busctl or goa-daemon")
        return 77
    tmp = tempfile.mkdtemp(prefix="mailspool-desktop-")
    bus = keyring = goa = None
    try:
        bus, address = children.private_bus(tmp)
        _show("bus", address)
        keyring = Keyring(address)
        _show("keyring ready; default collection", keyring.collection)
        attrs = {"service": "mailspool", "user": "alice"}
        item = keyring.store("mailspool test", attrs, "s3cret p\u00e4ss")
        _show("stored item", item)
        _show("its attributes", keyring.item_attributes(item))
        _show("secret-tool lookup", keyring.lookup(attrs))
        for alg in (ALGORITHM_PLAIN, ALGORITHM_DH):
            lines = []
            path, value, ctype = keyring.get_secret(attrs, alg, trace=lines.append)
            _show("get_secret(%s), one connection" % alg, "\n".join(lines))
            _show("  decrypted", [path, value.decode(), ctype])
        try:
            busctl(address, "call", SECRETS_NAME, SECRETS_PATH, IFACE_SECRET_SERVICE,
                   "OpenSession", "sv", "nonsense", "s", "")
        except BusctlError as e:
            _show("OpenSession nonsense", e.message)

        google = goa_google_account(keyring, "g1", "g1@gmail.test",
                                    goa_oauth2_credentials("token-1"))
        google += goa_google_account(keyring, "g2", "g2@gmail.test",
                                     goa_oauth2_credentials("token-2", 0, "refresh-2"))
        goa = OnlineAccounts(address, keyring, account_id="acc1", imap_host="127.0.0.1:1",
                             smtp_host="127.0.0.1:1", password="pw'1", extra_accounts=google)
        _show("GOA accounts.conf", children.read_text(goa.accounts_conf))
        unlocked, _ = keyring.search(goa.credentials_attributes)
        _show("GOA credentials item %s" % unlocked[0],
              {"Label": busctl(address, "get-property", SECRETS_NAME, unlocked[0],
                               IFACE_SECRET_ITEM, "Label")[0],
               "Attributes": keyring.item_attributes(unlocked[0]),
               "secret": keyring.lookup(goa.credentials_attributes)})
        _show("GOA account", goa.account_properties())
        _show("GetPassword imap-password", goa.get_password("imap-password"))
        _show("GetPassword smtp-password", goa.get_password("smtp-password"))
        try:
            goa.get_password("nonsense")
        except BusctlError as e:
            _show("GetPassword nonsense", e.message)
        for gid in ("g1", "g2"):
            try:
                _show("google %s: GetAccessToken" % gid,
                      busctl(address, "call", GOA_NAME, GOA_ACCOUNT_PREFIX + gid,
                             IFACE_GOA_OAUTH2_BASED, "GetAccessToken"))
            except BusctlError as e:
                _show("google %s: GetAccessToken" % gid, e.message)
        goa.wait_property(IFACE_GOA_ACCOUNT, "AttentionNeeded", True)
        _show("AttentionNeeded", "true (EnsureCredentials could not reach 127.0.0.1:1)")

        keyring.lock()
        _show("locked; secret-tool lookup", keyring.lookup(attrs))
        _show("locked; SearchItems", keyring.search(attrs))
        try:
            goa.get_password("imap-password")
        except BusctlError as e:
            _show("locked; GetPassword", e.message)
        keyring.unlock()
        _show("unlocked again; secret-tool lookup", keyring.lookup(attrs))
        _show("unlocked again; GetPassword", goa.get_password("imap-password"))
        print("OK")
        return 0
    finally:
        for obj in (goa, keyring):
            if obj is not None:
                obj.close()
        children.stop(bus)
        if bus is not None:
            bus.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(_selfcheck())
