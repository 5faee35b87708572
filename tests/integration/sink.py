"""Postfix's smtp-sink on loopback, as the SMTP server of the integration tests.

SmtpSink(options) starts /usr/sbin/smtp-sink on 127.0.0.1 and a free port, with
a dump directory: smtp-sink writes each mail transaction it accepts into its
own file there (the envelope as X-Mail-Args / X-Rcpt-Args lines, a Received
line, then the message). Fault injection is smtp-sink's own, passed as
options, e.g. ["-r", "RCPT"] (4xx to RCPT), ["-f", "RCPT"] (5xx),
["-q", "DATA"] (disconnect without a reply), ["-w", "1"] (wait 1 s before
answering DATA). restart() keeps the port, so a transport configured for it
sees the same server without its fault.

The port is ready when a TCP connect succeeds (polled with a deadline).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
READY_TIMEOUT = 10.0


def available():
    return os.access(SMTP_SINK, os.X_OK)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self, options=(), port=None, host="127.0.0.1"):
        self.host = host  # another address of this machine (a veth's) for network tests
        self.dir = tempfile.mkdtemp(prefix="mailspool-sink-")
        self.dump = os.path.join(self.dir, "dump")
        os.makedirs(self.dump)
        # smtp-sink drops root for the postfix user: it must write here.
        os.chmod(self.dir, 0o755)
        os.chmod(self.dump, 0o777)
        self.port = port or free_port()
        self.proc = None
        self.log = None
        self.start(options)

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "smtp://" + self.address

    def start(self, options=()):
        argv = [SMTP_SINK]
        if os.geteuid() == 0:
            argv += ["-u", "postfix"]
        argv += list(options)
        argv += ["-d", os.path.join(self.dump, "%Y%m%d."), self.address, "64"]
        self.log = open(os.path.join(self.dir, "smtp-sink.log"), "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("smtp-sink exited (%s): %s" % (self.proc.returncode,
                                                                  self.log_text()))
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() >= deadline:
                    raise RuntimeError("smtp-sink does not accept connections on %s"
                                       % self.address)
                time.sleep(0.02)  # the poll interval of a bounded wait

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def restart(self, options=()):
        """The same port, new options (e.g. without the fault)."""
        self.stop()
        self.start(options)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "smtp-sink.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        """Every transaction received so far: a list of dicts with 'mail_from',
        'rcpt_to' (list), 'mail_params' (the MAIL command's ESMTP parameters,
        a list of words), 'rcpt_params' (each RCPT command's, a list of lists), 'headers' (the message's header section, text) and
        'raw' (the message as received, bytes)."""
        out = []
        for name in sorted(os.listdir(self.dump)):
            with open(os.path.join(self.dump, name), "rb") as f:
                data = f.read()
            out.append(parse_dump(data))
        return out

    def count(self):
        return len(os.listdir(self.dump))


def parse_dump(data):
    """One smtp-sink dump file: envelope lines, smtp-sink's Received header,
    then the message as the client sent it."""
    mail_from, rcpt_to, mail_params, rcpt_params = None, [], [], []
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].startswith(b"X-"):
        key, _, value = lines[i].decode(errors="replace").partition(": ")
        # "<address> PARAM=VALUE ...": a relay (Dovecot's submission) adds
        # ESMTP parameters such as AUTH=alice after the address.
        words = value.split() or [""]
        if key == "X-Mail-Args":
            mail_from = words[0].strip("<>")
            mail_params = words[1:]
        elif key == "X-Rcpt-Args":
            rcpt_to.append(words[0].strip("<>"))
            rcpt_params.append(words[1:])
        i += 1
    # smtp-sink's own Received header (with its continuation lines) follows.
    if i < len(lines) and lines[i].startswith(b"Received:"):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    raw = b"\n".join(lines[i:])
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    return {"mail_from": mail_from, "rcpt_to": rcpt_to, "mail_params": mail_params,
            "rcpt_params": rcpt_params, "headers": head.decode(errors="replace"), "raw": raw}
