#!/usr/bin/env python3
"""Secrets from where people keep them (mailspool.conf(5), "Accounts"): a
PasswordCommand run with no shell and a time limit, its secret kept until the
server refuses it and then fetched exactly once more; the Secret Service
(a real gnome-keyring-daemon on the private session bus); GNOME Online
Accounts (a real goa-daemon). ValidateState names the mechanism and the
source (SecretSource, LogonMechanism), never the secret. The server is a
private Dovecot on loopback."""

import imaplib
import os
import shutil
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import certs  # noqa: E402
import desktop  # noqa: E402
import dovecot  # noqa: E402
import harness  # noqa: E402
import sink  # noqa: E402
from harness import (  # noqa: E402
    ERR_LOGON_FAILED, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_STATUS, IFACE_TRANSPORT, DaemonTestCase,
    make_message, transport_path)
from test_faults import FakeSmtp  # noqa: E402

MAPI_E_LOGON_FAILED = ("MAPI_E_LOGON_FAILED", 0x80040111)
IN = transport_path("in")


class ImapServerMixin:
    """A Dovecot without TLS (the secret sources are the point here, so the
    transport says StartTLS=no) and a transport "in" whose secret comes from
    the lines source_lines() gives."""

    START = False

    def setUp(self):
        if not dovecot.available():
            self.skipTest("Dovecot (dovecot-imapd, dovecot-pop3d) is not installed, or not root")
        self.server = dovecot.Dovecot()
        self.addCleanup(self.server.close)
        super().setUp()

    def write_transport(self, lines):
        self.h.write_config({
            "transports.d/in.conf": "[Transport]\nKind=imap\nServer=%s\nUser=%s\nStartTLS=no\n"
                                    "Idle=no\n%s"
                                    % (self.server.imap_url, dovecot.USER, lines),
        })

    def set_server_password(self, password):
        """Dovecot reads its passwd-file again when it sees it changed, within
        a second or so: the new password is in force once it logs on."""
        path = os.path.join(self.server.dir, "passwd")
        with open(path + ".new", "w") as f:
            f.write("%s:{PLAIN}%s\n" % (dovecot.USER, password))
        os.chmod(path + ".new", 0o644)
        os.rename(path + ".new", path)

        def takes_new_password():
            with imaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=10) as imap:
                try:
                    imap.login(dovecot.USER, password)
                    return True
                except imaplib.IMAP4.error:
                    return False
        self.h.wait_for("Dovecot to take the new password", takes_new_password, timeout=30)

    def validate_fails(self):
        return self.assertCallFails(ERR_LOGON_FAILED, MAPI_E_LOGON_FAILED, IN, IFACE_STATUS,
                                    "ValidateState", "u", 0)


class PasswordCommandTest(ImapServerMixin, DaemonTestCase):

    def script(self, body):
        """An executable shell script of the test (the daemon runs it
        directly, not through a shell of its own)."""
        path = os.path.join(self.h.dir, "secret-helper")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + textwrap.dedent(body))
        os.chmod(path, 0o700)
        return path

    def runs(self):
        try:
            with open(os.path.join(self.h.dir, "runs")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def start_with_password_file_helper(self, password):
        """PasswordCommand= printing what the file "current" holds, and noting
        each run (with its arguments) in "runs"."""
        self.current = os.path.join(self.h.dir, "current")
        with open(self.current, "w") as f:
            f.write(password + "\n")
        helper = self.script("""\
            printf '%%s|' "$@" >> %(dir)s/runs
            echo >> %(dir)s/runs
            cat %(dir)s/current
            """ % {"dir": self.h.dir})
        # Quotes and $ are the command line's own words, not a shell's.
        self.write_transport("PasswordCommand=%s 'two words' $HOME\n" % helper)
        self.h.start()

    # mailspool.conf(5), PasswordCommand: no shell; ValidateState names mechanism and source
    def test_password_from_a_command(self):
        self.start_with_password_file_helper(dovecot.PASSWORD)
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(self.runs(), ["two words|$HOME|"], "argv as written, no expansion")
        props = self.h.get_all(IN, IFACE_TRANSPORT)
        self.assertEqual(props["SecretSource"], "PasswordCommand")
        self.assertEqual(props["LogonMechanism"], "PLAIN")
        # Kept: a second logon does not run the command again.
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(len(self.runs()), 1, self.runs())
        self.assertNotIn(dovecot.PASSWORD, self.h.daemon_log())

    # mailspoold(8), ENVIRONMENT: GNUTLS_NO_IMPLICIT_INIT is the daemon's, not its commands'
    def test_command_does_not_inherit_the_gnutls_switch(self):
        with open(os.path.join(self.h.dir, "current"), "w") as f:
            f.write(dovecot.PASSWORD + "\n")
        helper = self.script("""\
            echo "${GNUTLS_NO_IMPLICIT_INIT-unset}" >> %(dir)s/runs
            cat %(dir)s/current
            """ % {"dir": self.h.dir})
        self.write_transport("PasswordCommand=%s\n" % helper)
        # As the system unit and the D-Bus activation files start it.
        self.h.daemon_env = {"GNUTLS_NO_IMPLICIT_INIT": "1"}
        self.h.start()
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(self.runs(), ["unset"])

    # mailspool.conf(5), "Accounts": a kept secret the server refuses is fetched once more
    def test_refused_secret_is_fetched_once_more(self):
        self.start_with_password_file_helper(dovecot.PASSWORD)
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(len(self.runs()), 1)
        # The password changes on the server and where the command reads it:
        # the kept one is refused, the fresh one works, nobody sees a failure.
        self.set_server_password("changed")
        with open(self.current, "w") as f:
            f.write("changed\n")
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(len(self.runs()), 2, "fetched again after the refusal")
        # Now the command's answer is wrong too: one more fetch, then LogonFailed.
        self.set_server_password("changed again")
        self.validate_fails()
        self.assertEqual(len(self.runs()), 3, "exactly one fetch after a refusal, no loop")

    # mailspool.conf(5), SecretTimeout: a command that hangs is cut at its time limit
    def test_hanging_command_is_stopped(self):
        pidfile = os.path.join(self.h.dir, "pid")
        helper = self.script("echo $$ > %s\nexec sleep 600\n" % pidfile)
        self.write_transport("PasswordCommand=%s\nSecretTimeout=1\n" % helper)
        self.h.start()
        err = self.validate_fails()
        self.assertIn("PasswordCommand: no answer within 1 s", err.message)
        with open(pidfile) as f:
            pid = int(f.read())
        self.h.wait_for("the hanging command to be gone",
                        lambda: not os.path.exists("/proc/%d" % pid))
        self.assertIn("no answer within 1 s", self.h.get_property(IN, IFACE_STATUS,
                                                                 "StatusString"))

    # mailspool.conf(5), PasswordCommand: a failing command is a failed logon, in words
    def test_failing_command(self):
        helper = self.script("echo 'helper: no such account' >&2\nexit 3\n")
        self.write_transport("PasswordCommand=%s\n" % helper)
        self.h.start()
        err = self.validate_fails()
        self.assertIn("PasswordCommand: exited with status 3", err.message)
        # A command that is not there says so.
        self.h.stop_daemon()
        self.write_transport("PasswordCommand=/nonexistent/helper\n")
        self.h.start_daemon()
        err = self.validate_fails()
        self.assertIn("could not be started", err.message)

    # mailspool.conf(5): exactly one secret source per transport
    def test_one_secret_source(self):
        with open(os.path.join(self.h.dir, "pw"), "w") as f:
            f.write("x\n")
        os.chmod(os.path.join(self.h.dir, "pw"), 0o600)
        self.write_transport("PasswordFile=%s/pw\nPasswordCommand=/bin/true\n" % self.h.dir)
        code, log, _ = self.h.run_daemon_expect_exit()
        self.assertNotEqual(code, 0)
        self.assertIn("one secret source: PasswordFile and PasswordCommand", log)


class TokenHelperMixin:
    """A TokenCommand that prints the token the file "token" holds and notes
    each run in "runs"."""

    def token_helper(self, token):
        self.token_file = os.path.join(self.h.dir, "token")
        self.set_helper_token(token)
        path = os.path.join(self.h.dir, "token-helper")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho run >> %s/runs\ncat %s\n" % (self.h.dir, self.token_file))
        os.chmod(path, 0o700)
        return path

    def set_helper_token(self, token):
        with open(self.token_file, "w") as f:
            f.write(token + "\n")

    def runs(self):
        try:
            with open(os.path.join(self.h.dir, "runs")) as f:
                return len(f.read().splitlines())
        except FileNotFoundError:
            return 0


class OAuth2Test(TokenHelperMixin, DaemonTestCase):
    """Auth=oauth2 against Dovecot's OAuth2 passdb (xoauth2 and oauthbearer),
    which asks a token-introspection endpoint the test serves on loopback;
    TLS with the test's CA; submission relaying to smtp-sink."""

    START = False

    def setUp(self):
        if not dovecot.available(submission=True) or not sink.available() \
                or not certs.available():
            self.skipTest("needs Dovecot with submission (as root), smtp-sink and openssl")
        super().setUp()
        d = tempfile.mkdtemp(prefix="mailspool-certs-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        self.certs = certs.Certs(d)
        self.tokens = dovecot.TokenServer()
        self.addCleanup(self.tokens.close)
        self.sink = sink.SmtpSink()
        self.addCleanup(self.sink.close)
        self.server = dovecot.Dovecot(tls=self.certs.server(), oauth2=self.tokens,
                                      submission_relay=("127.0.0.1", self.sink.port))
        self.addCleanup(self.server.close)

    def start_with(self, kind, token, extra=""):
        url = self.server.imap_url if kind == "imap" else self.server.submission_url
        helper = self.token_helper(token)
        self.h.write_config({
            "transports.d/in.conf": "[Transport]\nKind=%s\nServer=%s\nUser=%s\n"
                                    "TokenCommand=%s\nTLSTrustFile=%s\nSendMode=on-demand\n%s"
                                    % (kind, url, dovecot.USER, helper, self.certs.ca_cert,
                                       ("Idle=no\n" if kind == "imap" else "") + extra),
        })
        self.h.start()

    def validate_fails(self):
        return self.assertCallFails(ERR_LOGON_FAILED, MAPI_E_LOGON_FAILED, IN, IFACE_STATUS,
                                    "ValidateState", "u", 0)

    # mailspool.conf(5), Auth=oauth2: OAUTHBEARER where offered; AuthMechanisms chooses
    def test_imap_logon_with_a_token(self):
        self.tokens.add("token-1")
        self.start_with("imap", "token-1")
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        props = self.h.get_all(IN, IFACE_TRANSPORT)
        self.assertEqual(props["SecretSource"], "TokenCommand")
        self.assertEqual(props["LogonMechanism"], "OAUTHBEARER")
        self.assertIn("token-1", self.tokens.asked(), "Dovecot checked our token")
        self.assertIn("method=OAUTHBEARER", self.server.log_text())
        self.assertNotIn("token-1", self.h.daemon_log(), "the token is never logged")

    def test_xoauth2_when_asked_for(self):
        self.tokens.add("token-x")
        self.start_with("imap", "token-x", "AuthMechanisms=XOAUTH2\n")
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(self.h.get_property(IN, IFACE_TRANSPORT, "LogonMechanism"), "XOAUTH2")
        self.assertIn("method=XOAUTH2", self.server.log_text())

    # mailspool.conf(5), "ACCOUNTS": an expired token is fetched again once; a refused one
    # ends in LogonFailed
    def test_expired_token_is_fetched_again_once(self):
        self.tokens.add("old")
        self.start_with("imap", "old")
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(self.runs(), 1, "the token is kept between logons")
        # It expires; the helper has a new one: nobody sees a failure.
        self.tokens.revoke("old")
        self.tokens.add("new")
        self.set_helper_token("new")
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertEqual(self.runs(), 2)
        # The new one is refused too and the helper has nothing better: one fetch, no loop.
        self.tokens.revoke("new")
        err = self.validate_fails()
        self.assertIn("Logon refused by 127.0.0.1:%d" % self.server.imap_port, err.message)
        self.assertEqual(self.runs(), 3, "fetched exactly once more")

    # Dovecot's submission service with AUTH: a message goes out with a token
    def test_submission_with_a_token(self):
        self.tokens.add("send-token")
        self.start_with("smtp", "send-token")
        self.h.submit_data(make_message(subject="sent with a token"))
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)
        self.h.wait_for("the message at smtp-sink", lambda: self.sink.count() == 1)
        self.assertEqual(self.h.get_property(IN, IFACE_TRANSPORT, "LogonMechanism"),
                         "OAUTHBEARER")

    # mailspool.conf(5), OnlineAccount with Auth=oauth2: the token of a GOA OAuth2 account
    def test_token_from_gnome_online_accounts(self):
        if not desktop.available():
            self.skipTest("needs gnome-keyring-daemon, secret-tool and goa-daemon")
        self.h.start_bus()
        keyring = desktop.Keyring(self.h.bus_address)
        self.addCleanup(keyring.close)
        # Valid for two hours: GOA answers it without refreshing (no network here).
        expires = int((time.time() + 7200) * 1000000)
        google = desktop.goa_google_account(
            keyring, "account_google_1", "alice@gmail.com",
            desktop.goa_oauth2_credentials("goa-token", expires, refresh_token="refresh"))
        goa = desktop.OnlineAccounts(self.h.bus_address, keyring, extra_accounts=google)
        self.addCleanup(goa.close)
        self.tokens.add("goa-token")
        self.h.write_config({
            "transports.d/in.conf": "[Transport]\nKind=imap\nServer=%s\nUser=%s\nAuth=oauth2\n"
                                    "Idle=no\n"
                                    "OnlineAccount=account_google_1\nTLSTrustFile=%s\n"
                                    % (self.server.imap_url, dovecot.USER, self.certs.ca_cert),
        })
        self.h.start()
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        props = self.h.get_all(IN, IFACE_TRANSPORT)
        self.assertEqual((props["SecretSource"], props["LogonMechanism"]),
                         ("OnlineAccount", "OAUTHBEARER"))
        self.assertIn("goa-token", self.tokens.asked())
        # import-accounts makes OAuth2 transports of such an account.
        imported = os.path.join(self.h.dir, "imported")
        self.h._run([os.environ["MAILSPOOLCTL"], "import-accounts", "--config-dir", imported],
                    check=True)
        with open(os.path.join(imported, "transports.d", "goa-account_google_1-in.conf")) as f:
            text = f.read()
        self.assertIn("Server=imaps://imap.gmail.com", text)
        self.assertIn("OnlineAccount=account_google_1\nAuth=oauth2\n", text)


class SecretServiceTest(ImapServerMixin, DaemonTestCase):
    """A real gnome-keyring-daemon on the daemon's session bus."""

    ATTRIBUTES = {"service": "mailspool-test", "user": "alice"}

    def setUp(self):
        if not desktop.keyring_available():
            self.skipTest("needs gnome-keyring-daemon and secret-tool")
        super().setUp()
        self.h.start_bus()
        self.keyring = desktop.Keyring(self.h.bus_address)
        self.addCleanup(self.keyring.close)
        self.write_transport("SecretService=service=mailspool-test user=alice\n")

    # mailspool.conf(5), SecretService: the password from the desktop's keyring
    def test_password_from_the_keyring(self):
        self.keyring.store("mail password", self.ATTRIBUTES, dovecot.PASSWORD)
        self.h.start()
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        props = self.h.get_all(IN, IFACE_TRANSPORT)
        self.assertEqual(props["SecretSource"], "SecretService")
        self.assertEqual(props["LogonMechanism"], "PLAIN")

    # mailspool.conf(5), SecretService: a locked keyring is a failed logon, said plainly
    def test_locked_keyring(self):
        self.keyring.store("mail password", self.ATTRIBUTES, dovecot.PASSWORD)
        self.keyring.lock()
        self.h.start()
        err = self.validate_fails()
        self.assertIn("SecretService: the item is in a locked keyring", err.message)
        # Unlocked (as a desktop session does at log-in), the next logon works.
        self.keyring.unlock()
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)

    def test_no_such_item(self):
        self.h.start()
        err = self.validate_fails()
        self.assertIn("SecretService: no item has these attributes", err.message)


class OnlineAccountsTest(ImapServerMixin, DaemonTestCase):
    """A real goa-daemon with an IMAP and SMTP account on the daemon's
    session bus: mailspoolctl import-accounts makes the transports, and the
    daemon asks GOA for the password at logon."""

    ACCOUNT = "account_1700000000_0"

    def setUp(self):
        if not desktop.available():
            self.skipTest("needs gnome-keyring-daemon, secret-tool and goa-daemon")
        if not os.environ.get("MAILSPOOLCTL"):
            self.skipTest("MAILSPOOLCTL is not set")
        super().setUp()
        self.smtp = FakeSmtp(auth="PLAIN")
        self.addCleanup(self.smtp.close)
        self.h.start_bus()
        self.keyring = desktop.Keyring(self.h.bus_address)
        self.addCleanup(self.keyring.close)
        self.goa = desktop.OnlineAccounts(
            self.h.bus_address, self.keyring, account_id=self.ACCOUNT,
            email="alice@example.org", name="Alice",
            imap_host="127.0.0.1:%d" % self.server.imap_port,
            smtp_host="127.0.0.1:%d" % self.smtp.port, user=dovecot.USER,
            password=dovecot.PASSWORD)
        self.addCleanup(self.goa.close)

    def import_accounts(self):
        return self.h._run([os.environ["MAILSPOOLCTL"], "import-accounts",
                            "--config-dir", self.h.config_dir], check=True)

    # mailspoolctl(1), import-accounts; mailspool.conf(5), OnlineAccount
    def test_import_and_log_on_with_the_accounts_password(self):
        self.h.write_config({})
        out = self.import_accounts()
        base = os.path.join(self.h.config_dir, "transports.d", "goa-%s-" % self.ACCOUNT)
        with open(base + "in.conf") as f:
            incoming = f.read()
        with open(base + "out.conf") as f:
            outgoing = f.read()
        for text, kind in ((incoming, "imap"), (outgoing, "smtp")):
            self.assertIn("Kind=%s\n" % kind, text)
            self.assertIn("Identity=alice@example.org\n", text, "in and out share the Identity")
            self.assertIn("OnlineAccount=%s\n" % self.ACCOUNT, text)
            self.assertIn("User=alice\n", text)
            self.assertNotIn(dovecot.PASSWORD, text, "the secret stays with GOA")
        self.assertIn("Server=imap://127.0.0.1:%d\n" % self.server.imap_port, incoming)
        self.assertIn("StartTLS=no", incoming, "the account says neither SSL nor STARTTLS")
        self.assertIn("logs on without TLS", out[1])

        self.h.start()
        for transport in ("goa-%s-in" % self.ACCOUNT, "goa-%s-out" % self.ACCOUNT):
            path = transport_path(transport)
            self.h.call(path, IFACE_STATUS, "ValidateState", "u", 0)
            props = self.h.get_all(path, IFACE_TRANSPORT)
            self.assertEqual(props["SecretSource"], "OnlineAccount")
            self.assertEqual(props["LogonMechanism"], "PLAIN")
        # The SMTP logon carried GOA's smtp-password.
        self.assertTrue(self.smtp.auths, "the smtp transport logged on")

    # mailspool.conf(5), OnlineAccount: an account GOA does not know is a failed logon
    def test_unknown_account(self):
        self.write_transport("OnlineAccount=account_does_not_exist\n")
        self.h.start()
        err = self.validate_fails()
        self.assertIn("OnlineAccount: ", err.message)


if __name__ == "__main__":
    harness.main()
