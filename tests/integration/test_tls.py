#!/usr/bin/env python3
"""TLS done safely (issue: real accounts). Credentials are never sent without
TLS: a transport with User on a plain smtp:// URL requires STARTTLS unless
StartTLS=no is written out, so a server that does not offer STARTTLS (as one
whose STARTTLS is stripped on the path) never sees AUTH; with StartTLS=no written
out it does, and the log and StatusString warn about it. Trust: a private
Dovecot with ssl = required and certificates made by the test; each certificate
problem is its own outcome ("certificate: HOST: REASON", mailspoolctl exit 13),
TLSTrustFile trusts a CA, TLSPinnedKey a self-signed server. A client
certificate (TLSClientCertificate, TLSClientKey) opens a Dovecot that lets on
only clients with a certificate of its CA; without one the logon is refused
(LogonFailed, mailspoolctl exit 8)."""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (  # noqa: E402
    ERR_LOGON_FAILED, ERR_NETWORK_ERROR, FLUSH_NO_UI, FLUSH_UPLOAD, IFACE_STATUS,
    IFACE_TRANSPORT, SPOOLER_PATH, STATUS_FAILURE, DaemonTestCase, make_message, transport_path)
import certs  # noqa: E402
import dovecot  # noqa: E402
from harness import ERR_NETWORK_ERROR as NETWORK_ERROR  # noqa: E402
from test_faults import FakeSmtp  # noqa: E402

OUT = transport_path("out")
IN = transport_path("in")
DOWNLOAD = 0x04
CTL = os.environ.get("MAILSPOOLCTL")
MAPI_E_LOGON_FAILED = ("MAPI_E_LOGON_FAILED", 0x80040111)


class StartTlsPolicyTest(DaemonTestCase):

    START = False

    def configure(self, starttls_line, auth="PLAIN"):
        self.fake = FakeSmtp(auth=auth)
        self.addCleanup(self.fake.close)
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nUser=alice\n"
                                     "PasswordFile=out.password\nSendMode=on-demand\n%s"
                                     % (self.fake.url, starttls_line),
            "out.password": "s3cret\n",
        })
        os.chmod(os.path.join(self.h.config_dir, "out.password"), 0o600)
        self.h.start()

    # mailspool.conf(5), StartTLS: with User, STARTTLS is required by default
    def test_no_starttls_offered_means_no_logon(self):
        self.configure("")
        self.h.submit_data(make_message(subject="secret"))
        err = self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", OUT,
                                FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(err.name, ERR_NETWORK_ERROR, err)
        self.assertEqual(self.fake.auths, [], "the password went out in clear")
        self.assertEqual(self.fake.transactions, [])

    # StartTLS=yes keeps its meaning only for anonymous use
    def test_starttls_yes_with_a_password_is_required_too(self):
        self.configure("StartTLS=yes\n")
        self.h.submit_data(make_message(subject="secret"))
        self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", OUT,
                          FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(self.fake.auths, [])

    # StartTLS=no written out: the old behaviour, warned about at every logon
    def test_starttls_no_written_out_logs_on_with_a_warning(self):
        self.configure("StartTLS=no\n")
        self.assertIn("without TLS", self.h.get_property(OUT, IFACE_STATUS, "StatusString"))
        self.h.submit_data(make_message(subject="in clear"))
        summary = self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(summary["sent"], 1, summary)
        self.assertEqual(len(self.fake.auths), 1, self.fake.auths)
        self.assertIn("without TLS (StartTLS=no)", self.h.daemon_log())


    # mailspool.conf(5), AuthMechanisms; SASL-IR where the server offers it
    def test_auth_mechanisms_and_initial_response(self):
        self.configure("StartTLS=no\n", auth="PLAIN LOGIN")
        self.h.submit_data(make_message(subject="one"))
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        # Unrestricted, libcurl takes PLAIN, its first step in the AUTH line.
        words = self.fake.auths[0].split()
        self.assertEqual(words[:2], ["AUTH", "PLAIN"], self.fake.auths)
        self.assertEqual(len(words), 3, "the initial response rides in the AUTH line")
        # Restricted to LOGIN, it uses LOGIN.
        self.h.stop_daemon()
        with open(os.path.join(self.h.config_dir, "transports.d", "out.conf"), "a") as f:
            f.write("AuthMechanisms=LOGIN\n")
        self.h.start_daemon()
        self.h.submit_data(make_message(subject="two"))
        self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)
        self.assertEqual(len(self.fake.auths), 2, self.fake.auths)
        self.assertTrue(self.fake.auths[1].startswith("AUTH LOGIN"), self.fake.auths)


class CredentialTest(DaemonTestCase):
    """mailspool.conf(5), PasswordCredential: a systemd credential (LoadCredential=
    in the unit) read from $CREDENTIALS_DIRECTORY."""

    START = False

    # the system service keeps its secrets out of /etc with systemd credentials
    def test_password_from_a_systemd_credential(self):
        creds = os.path.join(self.h.dir, "credentials")
        os.makedirs(creds)
        with open(os.path.join(creds, "smtp-password"), "w") as f:
            f.write("from-credential\n")
        os.chmod(os.path.join(creds, "smtp-password"), 0o400)
        self.h.daemon_env = {"CREDENTIALS_DIRECTORY": creds}
        fake = FakeSmtp(auth="PLAIN")
        self.addCleanup(fake.close)
        self.h.write_config({
            "transports.d/out.conf": "[Transport]\nKind=smtp\nServer=%s\nUser=alice\n"
                                     "PasswordCredential=smtp-password\nStartTLS=no\n"
                                     "SendMode=on-demand\n" % fake.url,
        })
        self.h.start()
        self.h.submit_data(make_message(subject="with a credential"))
        self.assertEqual(self.h.flush("/", FLUSH_UPLOAD | FLUSH_NO_UI)["sent"], 1)
        ((_, _, response),) = [a.split() for a in fake.auths]
        self.assertEqual(base64.b64decode(response), b"\0alice\0from-credential")


class CertificateTest(DaemonTestCase):

    START = False

    def setUp(self):
        if not dovecot.available() or not certs.available():
            self.skipTest("needs Dovecot (as root) and the openssl command")
        super().setUp()
        d = tempfile.mkdtemp(prefix="mailspool-certs-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        self.certs = certs.Certs(d)

    def serve(self, cert_and_key, extra=""):
        """Dovecot with this certificate, mail waiting, and the transport "in"
        (User set, no StartTLS line: STARTTLS required) with extra keys."""
        self.server = dovecot.Dovecot(tls=cert_and_key)
        self.addCleanup(self.server.close)
        self.server.deliver(harness.make_message(subject="over TLS"))
        self.server.configure(self.h, "imap", extra=extra, starttls=None)
        self.h.start()

    def assert_certificate_refused(self, reason):
        err = self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", IN, DOWNLOAD)
        self.assertEqual(err.name, NETWORK_ERROR, err)
        prefix = "certificate: 127.0.0.1:%d: %s" % (self.server.imap_port, reason)
        self.assertIn("): " + prefix, err.message)
        self.assertIn(prefix, self.h.get_property(IN, IFACE_STATUS, "StatusString"))
        self.assertEqual(self.h.read_maildir("in"), [])
        self.assertIn(prefix, self.h.daemon_log(), "logged at warning level")

    def download_works(self):
        summary = self.h.flush("/", DOWNLOAD, path=IN)
        self.assertEqual((summary["received"], summary["errors"]), (1, []), summary)

    # mailspool.conf(5), TLSTrustFile
    def test_a_trusted_ca(self):
        self.serve(self.certs.server(), "TLSTrustFile=%s\n" % self.certs.ca_cert)
        self.download_works()

    def test_unknown_issuer(self):
        self.serve(self.certs.server())
        self.assert_certificate_refused("unknown issuer")
        # mailspoolctl(1): exit status 13
        p = subprocess.run([CTL, "--user", "flush", "in"], capture_output=True,
                           env=self.h.client_env, timeout=60)
        self.assertEqual(p.returncode, 13, p.stderr)

    def test_expired(self):
        self.serve(self.certs.server(expired=True), "TLSTrustFile=%s\n" % self.certs.ca_cert)
        self.assert_certificate_refused("expired")

    def test_name_mismatch(self):
        self.serve(self.certs.server(san="DNS:other.example"),
                   "TLSTrustFile=%s\n" % self.certs.ca_cert)
        self.assert_certificate_refused("name mismatch")

    # mailspool.conf(5), TLSPinnedKey: the way to trust a self-signed server
    def test_pinned_self_signed_server(self):
        cert = self.certs.self_signed()
        self.serve(cert, "TLSPinnedKey=%s\n" % certs.Certs.pin(cert[0]))
        self.download_works()

    def test_wrong_pin(self):
        other = self.certs.self_signed()
        self.serve(self.certs.self_signed(), "TLSPinnedKey=%s\n" % certs.Certs.pin(other[0]))
        self.assert_certificate_refused("pin mismatch")


class ClientCertificateTest(DaemonTestCase):
    """mailspool.conf(5), TLSClientCertificate and TLSClientKey: Dovecot with
    ssl = required and client_ca (ssl_verify_client_cert,
    auth_ssl_require_client_cert) lets on only a client with a certificate
    of its CA. It asks for one in the TLS handshake but finishes the
    handshake without it and refuses the logon after: "NO [ALERT] Client
    didn't present valid SSL certificate". So a missing or foreign client
    certificate is a refused logon (LogonFailed, mailspoolctl exit 8, the
    server's words in the message), not a certificate outcome: the server's
    own certificate is fine."""

    START = False

    def setUp(self):
        if not dovecot.available() or not certs.available():
            self.skipTest("needs Dovecot (as root) and the openssl command")
        super().setUp()
        d = tempfile.mkdtemp(prefix="mailspool-certs-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        self.certs = certs.Certs(d)
        self.server = dovecot.Dovecot(tls=self.certs.server(), client_ca=self.certs.ca_cert)
        self.addCleanup(self.server.close)
        self.server.deliver(make_message(subject="for a client certificate"))

    def serve(self, client=None, copy=False):
        """The transport "in" (STARTTLS required, the test CA trusted), with
        the client certificate and key client (None: none); copy: copied into
        the configuration directory and named relative to it."""
        extra = "TLSTrustFile=%s\n" % self.certs.ca_cert
        if client and copy:
            extra += "TLSClientCertificate=client.pem\nTLSClientKey=keys/client.key\n"
        elif client:
            extra += "TLSClientCertificate=%s\nTLSClientKey=%s\n" % client
        self.server.configure(self.h, "imap", extra=extra, starttls=None)
        if client and copy:
            os.makedirs(os.path.join(self.h.config_dir, "keys"))
            shutil.copy(client[0], os.path.join(self.h.config_dir, "client.pem"))
            shutil.copy(client[1], os.path.join(self.h.config_dir, "keys", "client.key"))
            os.chmod(os.path.join(self.h.config_dir, "keys", "client.key"), 0o600)
        self.h.start()

    def assert_logs_on(self):
        self.h.call(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertFalse(self.h.get_property(IN, IFACE_STATUS, "StatusCode") & STATUS_FAILURE)
        summary = self.h.flush("/", DOWNLOAD, path=IN)
        self.assertEqual((summary["received"], summary["errors"]), (1, []), summary)
        self.assertEqual(len(self.h.read_maildir("in")), 1)
        self.assertIn("Login: user=<alice>, method=PLAIN", self.server.log_text())

    def assert_logon_refused(self):
        refused = ("Logon refused by 127.0.0.1:%d: " % self.server.imap_port)
        why = "NO [ALERT] Client didn't present valid SSL certificate"
        err = self.h.call_error(SPOOLER_PATH, IFACE_STATUS, "FlushQueues", "ou", IN, DOWNLOAD)
        self.assertBusError(err, ERR_LOGON_FAILED, MAPI_E_LOGON_FAILED)
        self.assertIn(refused, err.message)
        self.assertIn(why, err.message)
        self.assertNotIn("certificate: 127.0.0.1", err.message, "the server's certificate is fine")
        for text in (self.h.get_property(IN, IFACE_STATUS, "StatusString"),
                     self.h.get_property(IN, IFACE_TRANSPORT, "LastError")):
            self.assertIn(refused, text)
            self.assertIn(why, text)
        self.assertTrue(self.h.get_property(IN, IFACE_STATUS, "StatusCode") & STATUS_FAILURE)
        self.assertEqual(self.h.read_maildir("in"), [])
        self.assertRegex(self.h.daemon_log(), r"(?m)^<4>.*%s.*Client didn't present valid SSL"
                         % re.escape(refused), "logged at warning level")
        # The check (ValidateState) logs on the same way and fails the same way.
        err = self.h.call_error(IN, IFACE_STATUS, "ValidateState", "u", 0)
        self.assertBusError(err, ERR_LOGON_FAILED, MAPI_E_LOGON_FAILED)
        self.assertIn(why, err.message)
        # mailspoolctl(1): exit status 8, logon failed
        p = subprocess.run([CTL, "--user", "flush", "in"], capture_output=True,
                           env=self.h.client_env, timeout=60)
        self.assertEqual(p.returncode, 8, p.stderr)
        # Dovecot says why (auth_verbose): the password was never checked.
        self.assertIn("Client didn't present valid SSL certificate", self.server.log_text())
        self.assertNotIn("Login: user=<alice>", self.server.log_text())

    def test_with_the_client_certificate(self):
        self.serve(self.certs.client())
        self.assert_logs_on()

    # mailspool.conf(5): relative paths are taken relative to the configuration directory
    def test_files_relative_to_the_config_dir(self):
        self.serve(self.certs.client(), copy=True)
        self.assert_logs_on()

    def test_without_a_client_certificate(self):
        self.serve()
        self.assert_logon_refused()

    def test_a_client_certificate_of_another_ca(self):
        d = tempfile.mkdtemp(prefix="mailspool-certs-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        self.serve(certs.Certs(d).client())
        self.assert_logon_refused()


if __name__ == "__main__":
    harness.main()
