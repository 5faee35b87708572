"""Certificates for the TLS tests, made with the openssl command: a CA, server
certificates it signs (for a name, or expired), client certificates it signs
(extendedKeyUsage clientAuth, for a server that asks for one: Dovecot with
client_ca), a self-signed one, and the pin of a certificate's public key
(sha256//BASE64, as TLSPinnedKey takes it)."""

import base64
import hashlib
import os
import shutil
import subprocess

OPENSSL = shutil.which("openssl")

CA_CONFIG = """[ ca ]
default_ca = test
[ test ]
dir = {dir}
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
"""


def available():
    return OPENSSL is not None


class Certs:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0
        self.ca_cert, self.ca_key = self._key_and_cert("Test CA", ca=True)
        with open(os.path.join(self.dir, "index.txt"), "w"):
            pass
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.ca_config = os.path.join(self.dir, "ca.cnf")
        with open(self.ca_config, "w") as f:
            f.write(CA_CONFIG.format(dir=self.dir))

    def _run(self, *args):
        subprocess.run([OPENSSL] + list(args), check=True, capture_output=True, cwd=self.dir)

    def _name(self, what):
        self.n += 1
        return os.path.join(self.dir, "%s-%d" % (what, self.n))

    def _key_and_cert(self, cn, ca=False, san=None):
        """A new EC key and a self-signed certificate for it."""
        base = self._name("self")
        args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", base + ".key", "-out", base + ".pem", "-days", "30",
                "-subj", "/CN=%s" % cn]
        if san:
            args += ["-addext", "subjectAltName=%s" % san]
        if ca:
            args += ["-addext", "basicConstraints=critical,CA:TRUE"]
        self._run(*args)
        return base + ".pem", base + ".key"

    def self_signed(self, san="IP:127.0.0.1"):
        return self._key_and_cert("127.0.0.1", san=san)

    def server(self, san="IP:127.0.0.1", expired=False):
        """(certificate, key) signed by this CA for san; expired: valid in 2020."""
        base = self._name("server")
        self._run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", base + ".key", "-out", base + ".csr",
                  "-subj", "/CN=server", "-addext", "subjectAltName=%s" % san)
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if expired
                 else ["-days", "30"])
        self._run("ca", "-batch", "-config", self.ca_config, "-in", base + ".csr",
                  "-out", base + ".pem", "-cert", self.ca_cert, "-keyfile", self.ca_key,
                  "-notext", *dates)
        for path in (base + ".pem", base + ".key"):
            os.chmod(path, 0o644)
        return base + ".pem", base + ".key"

    def client(self, cn="alice"):
        """(certificate, key) of a TLS client, signed by this CA: subject CN=cn,
        extendedKeyUsage clientAuth. The key is mode 0600, as TLSClientKey wants
        it (the daemon refuses a key others may read)."""
        base = self._name("client")
        self._run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", base + ".key", "-out", base + ".csr",
                  "-subj", "/CN=%s" % cn, "-addext", "extendedKeyUsage=clientAuth",
                  "-addext", "keyUsage=critical,digitalSignature")
        self._run("ca", "-batch", "-config", self.ca_config, "-in", base + ".csr",
                  "-out", base + ".pem", "-cert", self.ca_cert, "-keyfile", self.ca_key,
                  "-notext", "-days", "30")
        os.chmod(base + ".pem", 0o644)
        os.chmod(base + ".key", 0o600)
        return base + ".pem", base + ".key"

    @staticmethod
    def pin(cert):
        der = subprocess.run([OPENSSL, "x509", "-in", cert, "-pubkey", "-noout"], check=True,
                             capture_output=True).stdout
        spki = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "DER"], input=der,
                              check=True, capture_output=True).stdout
        return "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
