"""A private Dovecot (IMAP and POP3, optionally submission) on loopback, as the
server the receiving transports download from and the sending ones log on to.

Dovecot(...) writes its own configuration into a temporary directory: the
listeners on 127.0.0.1 and free ports, one user "alice" (password in a
passwd-file), mail in DIR/mail/alice as a Maildir owned by the unprivileged
uid the mail is served as. It runs in the foreground (`dovecot -F -c FILE`)
and is ready when every port accepts connections (polled with a deadline);
stop() and close() return once the master and every process it started
have exited (bounded; what outlasts the deadline is killed by its id).
deliver() drops a message into alice's Maildir the way an MTA would (tmp/
then rename into new/). Logons and their failures are logged with reasons
(auth_verbose) in DIR/dovecot.log: log_text().

Options, each off by default (then the server is the plain one the receive
tests were written against: no TLS, plaintext logons allowed):

* tls=(cert, key): ssl = required, STARTTLS on the plain ports (and the
  submission port). Dovecot counts a connection whose two ends have the
  same address as secured, though: a client connecting from 127.0.0.1 to
  127.0.0.1 may still log on without STARTTLS (only a client bound to
  another address, e.g. 127.0.0.2, is refused: no AUTH= offered,
  "PRIVACYREQUIRED"). Whether credentials go out in clear is the client's
  policy to test, not this server's.
* client_ca=FILE (with tls): the server asks for a client certificate and
  only one signed by that CA lets a client log on (ssl_verify_client_cert,
  auth_ssl_require_client_cert; this one holds on loopback too, as a
  certificate comes only with TLS). No CRL is wanted (ssl_require_crl = no:
  Dovecot's default refuses every client certificate of a CA without one).
  A client without such a certificate still completes the TLS handshake;
  its logon is then refused ("NO [ALERT] Client didn't present valid SSL
  certificate", SMTP "535 5.7.8 ..."), for every mechanism.
* oauth2=TokenServer: SASL XOAUTH2 and OAUTHBEARER besides PLAIN and LOGIN;
  Dovecot's oauth2 passdb asks the TokenServer (RFC 7662 token introspection
  over HTTP on loopback, introspection_mode = the server's mode) at every
  logon (no auth cache) whether a bearer token is active and whether it is
  alice's. Each passdb serves only its own mechanisms (passdb { mechanisms
  = }), so a password is never sent to the token server and a token is not
  a password. Dovecot counts both bearer mechanisms as plaintext ones: they
  are offered and taken only where PLAIN is. A refused token: IMAP "NO
  [AUTHENTICATIONFAILED]" (after a "+ " JSON error challenge), SMTP "535
  5.7.8"; the reason in dovecot.log (auth_verbose): "oauth2 failed:
  Introspection failed: Provided token is not valid" or "... Username
  'alice' did not match 'bob'". The token server down: "NO [UNAVAILABLE]
  Temporary authentication failure", logged as an Error "Introspection
  failed: connect(127.0.0.1:PORT) failed: Connection refused".
* submission_relay=(host, port): Dovecot's submission service (RFC 6409) on
  another free port (submission_port, submission_url), relaying what an
  authenticated client sends to the SMTP server there (an SmtpSink of
  sink.py; Dovecot adds AUTH=alice to its MAIL FROM). AUTH is required
  before MAIL ("530 5.7.0 Authentication required."), with the same
  mechanisms and passdbs as IMAP.

TokenServer is that introspection endpoint: http.server in a thread on
127.0.0.1; add()/revoke() tokens, `requests` lists the tokens asked about.

Needs root (Dovecot's master switches users) and the Debian packages
dovecot-imapd and dovecot-pop3d; submission_relay also dovecot-submissiond.
"""

import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
SUBMISSION = "/usr/lib/dovecot/submission"
READY_TIMEOUT = 15.0
USER = "alice"
PASSWORD = "correct horse"
MAIL_UID = 65534  # nobody: Dovecot never serves mail as root


def available(submission=False):
    """Dovecot can run here (root, its users); submission: and its submission
    service is installed."""
    if not os.access(DOVECOT, os.X_OK) or os.geteuid() != 0:
        return False
    if submission and not os.access(SUBMISSION, os.X_OK):
        return False
    try:
        pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError:
        return False
    return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid):
    """(state, parent id, start time) of a process from /proc, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the fields after "PID (COMM) "
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid):
    """{id: start time} of pid's child processes, theirs, and so on."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                children.setdefault(st[1], []).append((int(name), st[2]))
    out, todo = {}, [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            out[child] = started
            todo.append(child)
    return out


def process_alive(pid, started):
    """The process pid that started at started (not another one that got its
    id since) still runs; a zombie, waiting for its new parent to reap it,
    does not."""
    st = _stat(pid)
    return st is not None and st[2] == started and st[0] != "Z"


class TokenServer:
    """An OAuth 2.0 token introspection endpoint (RFC 7662) on 127.0.0.1 and a
    free port, for Dovecot's oauth2 passdb.

    mode is the introspection_mode Dovecot is configured with: "post" (the
    default: a form POST "token=TOKEN" to `url`), "get" (a GET of
    `introspection_url` with the token appended, i.e. URL?token=TOKEN) or
    "auth" (a GET of `url` with "Authorization: Bearer TOKEN"); the server
    answers all three alike, with JSON: {"active": true, "username": USER,
    "scope": "mail", "token_type": "Bearer", "exp": NOW+3600} for a token
    added and not revoked, {"active": false} for any other. `requests` lists
    the tokens asked about, in order (None when a request carried none);
    asked() returns a copy."""

    PATH = "/introspect"
    MODES = ("post", "get", "auth")

    def __init__(self, mode="post"):
        if mode not in self.MODES:
            raise ValueError("mode must be one of %s" % (self.MODES,))
        self.mode = mode
        self.tokens = {}  # token -> (user, active)
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace")
                token = urllib.parse.parse_qs(body).get("token", [None])[0]
                self._answer(token)

            def do_GET(self):
                auth = self.headers.get("Authorization") or ""
                if auth.lower().startswith("bearer "):
                    token = auth[7:].strip()
                else:
                    url = urllib.parse.urlsplit(self.path)
                    token = urllib.parse.parse_qs(url.query).get("token", [None])[0]
                    if token is None and url.path.startswith(outer.PATH + "/"):
                        token = urllib.parse.unquote(url.path[len(outer.PATH) + 1:])
                self._answer(token)

            def _answer(self, token):
                with outer.lock:
                    outer.requests.append(token)
                    user, active = outer.tokens.get(token, (None, False))
                if active:
                    answer = {"active": True, "username": user, "scope": "mail",
                              "token_type": "Bearer", "exp": int(time.time()) + 3600}
                else:
                    answer = {"active": False}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt, *args):
                pass  # the test reads `requests`, not stderr

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="token-server",
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.PATH)

    @property
    def introspection_url(self):
        """Dovecot's introspection_url for this mode (get appends the token)."""
        return self.url + "?token=" if self.mode == "get" else self.url

    def add(self, token, user=USER, active=True):
        """token is (active) or is not (inactive: refused) a bearer token of user."""
        with self.lock:
            self.tokens[token] = (user, active)

    def revoke(self, token):
        """From now on token is introspected as inactive."""
        with self.lock:
            user, _ = self.tokens.get(token, (USER, False))
            self.tokens[token] = (user, False)

    def asked(self):
        """A copy of `requests`."""
        with self.lock:
            return list(self.requests)

    def close(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(10)
            self.httpd = None


CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = {protocols}
listen = {host}
hostname = mailspool-test.invalid
{ssl}
auth_mechanisms = {mechanisms}
auth_verbose = yes
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
{passwd_mechanisms}}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid={uid} gid={uid} home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
{submission}"""


NO_TLS = "ssl = no\ndisable_plaintext_auth = no\n"
TLS = "ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\ndisable_plaintext_auth = yes\n"
# A client certificate signed by ssl_ca, or no logon. Dovecot asks for one
# (ssl_verify_client_cert) but lets the handshake finish without it; the
# auth process then refuses the logon ("Client didn't present valid SSL
# certificate"). ssl_require_crl = no: the CA has no CRL.
CLIENT_CA = ("ssl_ca = <{ca}\nssl_verify_client_cert = yes\nssl_require_crl = no\n"
             "auth_ssl_require_client_cert = yes\n")

OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/dovecot-oauth2.conf.ext
}}
"""

# RFC 7662 introspection (the token as a form POST with the TokenServer's
# default mode); the answer's "username" must be the user the client logs on
# as, "active" must be true. No auth cache (auth_cache_size is 0): every
# logon asks, so a revoked token is refused at once.
OAUTH2_CONFIG = """\
introspection_mode = {mode}
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""

SUBMISSION_SERVICE = """\
submission_relay_host = {host}
submission_relay_port = {port}
submission_relay_trusted = no
submission_relay_ssl = no
service submission-login {{
  inet_listener submission {{
    port = {submission_port}
  }}
}}
"""


class Dovecot:
    def __init__(self, tls=None, client_ca=None, oauth2=None, submission_relay=None,
                 settings="", host="127.0.0.1"):
        """tls: (certificate file, key file) to require TLS (STARTTLS on the
        plain ports); None for no TLS at all. client_ca: a CA certificate file
        (needs tls): logons need a client certificate it signed. oauth2: a
        TokenServer validating XOAUTH2/OAUTHBEARER bearer tokens.
        submission_relay: (host, port) of the SMTP server the submission
        service relays to; None: no submission service. settings: more
        lines of dovecot.conf (e.g. an imap_capability without IDLE). host:
        the address it listens on (127.0.0.1; another for a test across a
        network namespace's link).
        Started when this returns.

        Attributes: imap_port, pop3_port, submission_port (None without
        submission_relay), and their imap_url, pop3_url, submission_url
        ("smtp://127.0.0.1:PORT"); dir (its temporary directory), config (its
        dovecot.conf), maildir (alice's), proc (the master), and the
        arguments as given."""
        if client_ca and not tls:
            raise ValueError("client_ca needs tls")
        self.tls = tls
        self.client_ca = client_ca
        self.oauth2 = oauth2
        self.submission_relay = submission_relay
        self.settings = settings
        self.host = host
        self.dir = tempfile.mkdtemp(prefix="mailspool-dovecot-")
        os.chmod(self.dir, 0o755)
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub))
        self.maildir = os.path.join(self.dir, "mail", USER)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub))
        for path in (os.path.join(self.dir, "mail"), self.maildir,
                     os.path.join(self.dir, "home")):
            os.chown(path, MAIL_UID, MAIL_UID)
        for sub in ("tmp", "new", "cur"):
            os.chown(os.path.join(self.maildir, sub), MAIL_UID, MAIL_UID)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s\n" % (USER, PASSWORD))
        os.chmod(os.path.join(self.dir, "passwd"), 0o644)
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.submission_port = free_port() if submission_relay else None
        self.config = os.path.join(self.dir, "dovecot.conf")
        self._write_config()
        self.proc = None
        self.start()

    def _write_config(self):
        ssl = TLS.format(cert=self.tls[0], key=self.tls[1]) if self.tls else NO_TLS
        if self.client_ca:
            ssl += CLIENT_CA.format(ca=self.client_ca)
        protocols = "imap pop3"
        mechanisms = "plain login"
        passwd_mechanisms = oauth2_passdb = submission = ""
        if self.oauth2:
            mechanisms += " xoauth2 oauthbearer"
            passwd_mechanisms = "  mechanisms = plain login\n"
            oauth2_passdb = OAUTH2_PASSDB.format(dir=self.dir)
            path = os.path.join(self.dir, "dovecot-oauth2.conf.ext")
            with open(path, "w") as f:
                f.write(OAUTH2_CONFIG.format(mode=self.oauth2.mode,
                                           url=self.oauth2.introspection_url))
            os.chmod(path, 0o644)
        if self.submission_relay:
            protocols += " submission"
            submission = SUBMISSION_SERVICE.format(host=self.submission_relay[0],
                                                   port=self.submission_relay[1],
                                                   submission_port=self.submission_port)
        with open(self.config, "w") as f:
            f.write(CONFIG.format(dir=self.dir, host=self.host, uid=MAIL_UID, imap_port=self.imap_port,
                                  pop3_port=self.pop3_port, ssl=ssl, protocols=protocols,
                                  mechanisms=mechanisms, passwd_mechanisms=passwd_mechanisms,
                                  oauth2_passdb=oauth2_passdb, submission=submission))
            f.write(self.settings)

    @property
    def imap_url(self):
        return "imap://%s:%d" % (self.host, self.imap_port)

    @property
    def pop3_url(self):
        return "pop3://%s:%d" % (self.host, self.pop3_port)

    @property
    def submission_url(self):
        return "smtp://%s:%d" % (self.host, self.submission_port)

    def ports(self):
        """The ports it listens on."""
        return [p for p in (self.imap_port, self.pop3_port, self.submission_port) if p]

    def start(self):
        out = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + READY_TIMEOUT
        for port in self.ports():
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("dovecot exited (%s): %s" % (self.proc.returncode,
                                                                  self.log_text()))
                try:
                    with socket.create_connection((self.host, port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise RuntimeError("dovecot does not listen on %d: %s"
                                           % (port, self.log_text()))
                    time.sleep(0.02)  # the poll interval of a bounded wait

    def stop(self):
        """Stops the master and waits (bounded) until its processes are gone
        too. Dovecot's master exits before some of its children: a mail
        process serving a client that is still connected (a daemon's cached
        connection) takes some 10 s more. So those left when the master is
        gone get SIGTERM by id, and SIGKILL if they outlast the deadline. A
        child re-parented to a PID 1 that does not reap (as in a container)
        stays a zombie, which counts as gone."""
        if self.proc and self.proc.poll() is None:
            # Its children are known by their parent only while it runs (then
            # they are re-parented), so they are collected until it exits.
            children = descendants(self.proc.pid)
            self.proc.terminate()
            deadline = time.monotonic() + 10
            while self.proc.poll() is None:
                children.update(descendants(self.proc.pid))
                if time.monotonic() >= deadline:
                    self.proc.kill()
                    self.proc.wait(5)
                    break
                time.sleep(0.02)  # the poll interval of a bounded wait
            deadline = time.monotonic() + 10
            how = signal.SIGTERM
            while True:
                alive = [pid for pid, started in children.items()
                         if process_alive(pid, started)]
                if not alive:
                    break
                if how is not None:
                    for pid in alive:
                        try:
                            os.kill(pid, how)
                        except OSError:
                            pass
                    if how == signal.SIGKILL:
                        break
                    how = None
                if time.monotonic() >= deadline:
                    how = signal.SIGKILL
                    continue
                time.sleep(0.02)  # the poll interval of a bounded wait
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        text = ""
        for name in ("dovecot.out", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def deliver(self, message):
        """Put a message (bytes) into alice's INBOX."""
        name = "%d.%s.mailspool-test" % (time.time(), uuid.uuid4().hex)
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(message)
        os.chown(tmp, MAIL_UID, MAIL_UID)
        os.rename(tmp, os.path.join(self.maildir, "new", name))

    def configure(self, harness, kind, password=PASSWORD, extra="", starttls="no", idle=False):
        """Writes the harness's configuration (replacing it) with one transport
        "in" of kind "imap" or "pop3" logging on to this server as USER, and
        its password file (mode 0600). extra: more [Transport] lines;
        starttls: the StartTLS line's value (None: no line); idle: an imap
        transport waits for new mail with IDLE (its default) rather than
        downloading only when the test flushes (Idle=no)."""
        url = self.imap_url if kind == "imap" else self.pop3_url
        tls = "StartTLS=%s\n" % starttls if starttls else ""
        if kind == "imap" and not idle:
            extra = "Idle=no\n" + extra
        harness.write_config({
            "transports.d/in.conf": "[Transport]\nKind=%s\nServer=%s\n%sUser=%s\n"
                                    "PasswordFile=in.password\n%s" % (kind, url, tls, USER, extra),
        })
        path = os.path.join(harness.config_dir, "in.password")
        with open(path, "w") as f:
            f.write(password + "\n")
        os.chmod(path, 0o600)
