"""A private Dovecot (IMAP and POP3) on loopback, as the server the receiving
transports download from.

Dovecot(...) writes its own configuration into a temporary directory: both
listeners on 127.0.0.1 and free ports, no TLS, plaintext logons allowed, one
user "alice" (password in a passwd-file), mail in DIR/mail/alice as a Maildir
owned by the unprivileged uid the mail is served as. It runs in the foreground
(`dovecot -F -c FILE`) and is ready when both ports accept connections
(polled with a deadline). deliver() drops a message into alice's Maildir the
way an MTA would (tmp/ then rename into new/).

Needs root (Dovecot's master switches users) and the Debian packages
dovecot-imapd and dovecot-pop3d.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
READY_TIMEOUT = 15.0
USER = "alice"
PASSWORD = "correct horse"
MAIL_UID = 65534  # nobody: Dovecot never serves mail as root


def available():
    if not os.access(DOVECOT, os.X_OK) or os.geteuid() != 0:
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


CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
{ssl}
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
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
"""


NO_TLS = "ssl = no\ndisable_plaintext_auth = no\n"
TLS = "ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\ndisable_plaintext_auth = yes\n"


class Dovecot:
    def __init__(self, tls=None):
        """tls: (certificate file, key file) to require TLS (STARTTLS on the
        plain ports); None for no TLS at all."""
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
        self.config = os.path.join(self.dir, "dovecot.conf")
        with open(self.config, "w") as f:
            ssl = TLS.format(cert=tls[0], key=tls[1]) if tls else NO_TLS
            f.write(CONFIG.format(dir=self.dir, uid=MAIL_UID, imap_port=self.imap_port,
                                  pop3_port=self.pop3_port, ssl=ssl))
        self.proc = None
        self.start()

    @property
    def imap_url(self):
        return "imap://127.0.0.1:%d" % self.imap_port

    @property
    def pop3_url(self):
        return "pop3://127.0.0.1:%d" % self.pop3_port

    def start(self):
        out = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + READY_TIMEOUT
        for port in (self.imap_port, self.pop3_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("dovecot exited (%s): %s" % (self.proc.returncode,
                                                                  self.log_text()))
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise RuntimeError("dovecot does not listen on %d: %s"
                                           % (port, self.log_text()))
                    time.sleep(0.02)  # the poll interval of a bounded wait

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
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

    def configure(self, harness, kind, password=PASSWORD, extra="", starttls="no"):
        """Writes the harness's configuration (replacing it) with one transport
        "in" of kind "imap" or "pop3" logging on to this server as USER, and
        its password file (mode 0600). extra: more [Transport] lines;
        starttls: the StartTLS line's value (None: no line)."""
        url = self.imap_url if kind == "imap" else self.pop3_url
        tls = "StartTLS=%s\n" % starttls if starttls else ""
        harness.write_config({
            "transports.d/in.conf": "[Transport]\nKind=%s\nServer=%s\n%sUser=%s\n"
                                    "PasswordFile=in.password\n%s" % (kind, url, tls, USER, extra),
        })
        path = os.path.join(harness.config_dir, "in.password")
        with open(path, "w") as f:
            f.write(password + "\n")
        os.chmod(path, 0o600)
