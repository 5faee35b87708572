#!/usr/bin/env python3
"""Real mail programs hand their mail to mailspool-sendmail, as they would to
/usr/sbin/sendmail (mailspool-sendmail(8); README, "mailspool-sendmail"):
s-nail (with metoo: "-i -m --"), bsd-mailx ("-i -t -f ADDRESS -m"), mutt with
an attachment ("-oem -oi --"), git send-email (a patch with a binary file;
"-i", "-f ADDRESS"), Python's email package piping into "-t -oi", and
Python's smtplib speaking SMTP to "-bs". Each runs against the real daemon on
a private bus with a Maildir transport that delivers at once, so the message
ends up as a file: it must arrive exactly once, with its subject, recipients
and attachment bytes intact, and the program must exit 0.

Then every option of Postfix's and Sendmail's sendmail is given to the
program: each is taken (delivered, ignored, or its mode run), none is a usage
error; -bp lists the queue, -q flushes it, -bv, -bd, -bi, -bt and the rest do
what the man page says.

A program that is not installed skips its test, naming its Debian package."""

import email
import email.message
import email.policy
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CALL_TIMEOUT, DaemonTestCase, V, make_message  # noqa: E402

BUILD = os.path.dirname(os.path.dirname(os.environ.get("MAILSPOOLD", "build/service/mailspoold")))
# Absolute: git send-email takes --smtp-server for a program only when it is.
SENDMAIL = os.path.abspath(os.environ.get("MAILSPOOL_SENDMAIL",
                                          os.path.join(BUILD, "client-lib", "mailspool-sendmail")))
# sysexits.h
EX_USAGE, EX_UNAVAILABLE, EX_TEMPFAIL = 64, 69, 75
RUN_TIMEOUT = 60 + CALL_TIMEOUT
FINAL_STATES = ("sent", "failed", "aborted")


class MuaTestCase(DaemonTestCase):
    """A Maildir transport "local" (the default, sending at once); a HOME of
    the test's own; the programs find the spooler through MAILSPOOL_BUS."""

    SEND_MODE = "immediate"

    def setUp(self):
        if not os.access(SENDMAIL, os.X_OK):
            self.skipTest("%s is not built" % SENDMAIL)
        self.CONFIG = {"transports.d/local.conf": "[Transport]\nKind=maildir\nDefault=yes\n"
                                                  "SendMode=%s\n" % self.SEND_MODE}
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="mailspool-mua-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.env = dict(self.h.client_env)
        self.env.update({"HOME": self.home, "MAILSPOOL_BUS": "session", "LC_ALL": "C.UTF-8",
                         "TZ": "UTC", "TMPDIR": self.home})
        for name in ("MAIL", "MAILRC", "MUTT", "MAILX", "EMAIL", "REPLYTO", "NAME"):
            self.env.pop(name, None)

    def need(self, program, package):
        path = shutil.which(program)
        if path is None:
            self.skipTest("%s (Debian package %s) is not installed" % (program, package))
        return path

    def run_program(self, argv, stdin=b"", env=None, cwd=None):
        proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env or self.env, cwd=cwd or self.home, timeout=RUN_TIMEOUT)
        self.h.transcript.append((argv, proc.returncode, proc.stdout.decode(errors="replace"),
                                  proc.stderr.decode(errors="replace")))
        return proc

    def assertExitsZero(self, proc):
        self.assertEqual(proc.returncode, 0, "exit %d; stdout: %s; stderr: %s"
                         % (proc.returncode, proc.stdout.decode(errors="replace"),
                            proc.stderr.decode(errors="replace")))

    def sendmail(self, args, stdin=b""):
        return self.run_program([SENDMAIL] + list(args), stdin=stdin)

    def outbound(self):
        return self.h.list_messages({"Direction": V("s", "outbound")})

    def delivered(self, count=1):
        """Once every submitted message has an outcome: each is sent, there are
        exactly count of them and count files in the Maildir. Returns a list
        of (properties, parsed message, raw bytes) in submission order."""
        def settled():
            rows = self.outbound()
            return (rows,) if all(r[1] in FINAL_STATES for r in rows) else None
        (rows,) = self.h.wait_for("every message sent", settled)
        self.assertEqual([r[1] for r in rows], ["sent"] * count, rows)
        files = self.h.maildir_files("local")
        self.assertEqual(len(files), count, "one file per message in the Maildir: %s" % files)
        # The Maildir transport names a file TIME.MUSECQID.HOST: ID is the store's.
        by_id = {}
        for f in files:
            m = re.search(r"\.M\d+Q(\d+)\.", os.path.basename(f))
            self.assertIsNotNone(m, "a Maildir file name with the message id: %s" % f)
            by_id[m.group(1)] = f
        out = []
        for row in rows:
            path = by_id[row[0].rsplit("/", 1)[1]]
            with open(path, "rb") as f:
                raw = f.read()
            out.append((self.h.message_props(row[0]),
                        email.message_from_bytes(raw, policy=email.policy.default), raw))
        return out

    def assertAttachment(self, msg, filename, data):
        parts = [p for p in msg.iter_attachments() if p.get_filename() == filename]
        self.assertEqual(len(parts), 1, "one attachment %r in the message %r"
                         % (filename, msg["Subject"]))
        self.assertEqual(parts[0].get_content(), data, "the decoded bytes of %s" % filename)

    def random_file(self, name, size=48 * 1024):
        path = os.path.join(self.home, name)
        data = os.urandom(size)
        with open(path, "wb") as f:
            f.write(data)
        return path, data


class MailProgramTest(MuaTestCase):

    # s-nail(1): "metoo" makes it pass -m, "mta" (v14.9; "sendmail" before) names the program
    def test_s_nail_with_metoo_and_an_attachment(self):
        s_nail = self.need("s-nail", "s-nail")
        attachment, data = self.random_file("photo.bin")
        proc = self.run_program(
            [s_nail, "-:/", "-S", "mta=" + SENDMAIL, "-S", "metoo",
             "-S", "from=alice@example.org", "-S", "sendcharsets=utf-8",
             "-S", "DEAD=" + os.path.join(self.home, "dead.letter"),
             "-s", "Grüße from s-nail", "-a", attachment, "-c", "carol@example.org",
             "bob@example.org"],
            stdin="The holiday photo, as promised.\n".encode())
        self.assertExitsZero(proc)
        ((props, msg, raw),) = self.delivered()
        self.assertEqual(msg["Subject"], "Grüße from s-nail")
        self.assertEqual(sorted(props["Recipients"]), ["bob@example.org", "carol@example.org"])
        self.assertIn("bob@example.org", msg["To"])
        self.assertIn("carol@example.org", msg["Cc"])
        self.assertAttachment(msg, "photo.bin", data)
        self.assertIn(b"The holiday photo, as promised.", raw)

    # bsd-mailx: "set sendmail" in its MAILRC; "set metoo" passes -m; -r passes -f
    def test_bsd_mailx_with_metoo(self):
        mailx = self.need("bsd-mailx", "bsd-mailx")
        rc = os.path.join(self.home, "mailrc")
        with open(rc, "w") as f:
            f.write("set sendmail=%s\nset metoo\n" % SENDMAIL)
        env = dict(self.env, MAILRC=rc)
        body = "Line one.\n.\nA line with a single dot above: not the end.\n"
        proc = self.run_program([mailx, "-n", "-r", "alice@example.org", "-s", "From bsd-mailx",
                                 "-c", "carol@example.org", "bob@example.org"],
                                stdin=body.encode(), env=env)
        self.assertExitsZero(proc)
        ((props, msg, raw),) = self.delivered()
        self.assertEqual(msg["Subject"], "From bsd-mailx")
        self.assertEqual(props["Sender"], "alice@example.org")
        self.assertEqual(sorted(props["Recipients"]), ["bob@example.org", "carol@example.org"])
        self.assertEqual(msg["To"], "bob@example.org")
        self.assertEqual(msg.get_content(), body, "the body whole, past its \".\" line (-i)")
        self.assertFalse(os.path.exists(os.path.join(self.home, "dead.letter")))

    # mutt: its own sendmail arguments ("-oem -oi"), "--" before the recipients
    def test_mutt_with_attachments(self):
        mutt = self.need("mutt", "mutt")
        attachment, data = self.random_file("random.bin", 200 * 1024)
        text_path = os.path.join(self.home, "notes.txt")
        text = "first line\n.\nlast line, after a lone dot\n"
        with open(text_path, "w") as f:
            f.write(text)
        proc = self.run_program(
            [mutt, "-F", "/dev/null", "-n",
             "-e", "set sendmail='%s -oem -oi'" % SENDMAIL,
             "-e", "set from=alice@example.org", "-e", "set record=''",
             "-s", "Random bytes from mutt", "-c", "carol@example.org",
             "-a", attachment, text_path, "--", "bob@example.org"],
            stdin=b"Two files attached.\n")
        self.assertExitsZero(proc)
        ((props, msg, raw),) = self.delivered()
        self.assertEqual(msg["Subject"], "Random bytes from mutt")
        self.assertEqual(sorted(props["Recipients"]), ["bob@example.org", "carol@example.org"])
        self.assertAttachment(msg, "random.bin", data)
        self.assertAttachment(msg, "notes.txt", text)
        self.assertIn("Two files attached.", msg.get_body(("plain",)).get_content())

    # git send-email: --smtp-server names a sendmail; the patch applies again
    def test_git_send_email_patch_applies(self):
        git = self.need("git", "git")
        exec_path = subprocess.run([git, "--exec-path"], capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT).stdout.strip()
        if not os.access(os.path.join(exec_path, "git-send-email"), os.X_OK):
            self.skipTest("git send-email (Debian package git-email) is not installed")
        perl = shutil.which("perl")
        if perl is None or subprocess.run([perl, "-MMail::Address", "-e", "1"],
                                          capture_output=True,
                                          timeout=RUN_TIMEOUT).returncode != 0:
            self.skipTest("git send-email needs Mail::Address (Debian package libmailtools-perl)")
        env = dict(self.env, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Alice",
                   GIT_AUTHOR_EMAIL="alice@example.org", GIT_COMMITTER_NAME="Alice",
                   GIT_COMMITTER_EMAIL="alice@example.org")
        repo = os.path.join(self.home, "repo")

        def run_git(*args):
            proc = self.run_program([git, "-C", repo] + list(args), env=env)
            self.assertExitsZero(proc)
            return proc.stdout.decode()

        os.makedirs(repo)
        run_git("init", "-q", "-b", "main")
        run_git("commit", "-q", "--allow-empty", "-m", "Start")
        blob = os.urandom(4096)
        with open(os.path.join(repo, "blob.bin"), "wb") as f:
            f.write(blob)
        with open(os.path.join(repo, "README"), "w") as f:
            f.write("a line\n.\nanother\n")
        run_git("add", "blob.bin", "README")
        run_git("commit", "-q", "-m", "Add a blob and a README")
        (patch,) = run_git("format-patch", "-1", "-o", os.path.join(self.home, "out")).split()
        proc = self.run_program(
            [git, "-C", repo, "send-email", "--smtp-server=" + SENDMAIL,
             "--from=Alice <alice@example.org>", "--envelope-sender=alice@example.org",
             "--to=bob@example.org",
             "--cc=carol@example.org", "--confirm=never", "--suppress-cc=all", "--no-validate",
             patch], env=env)
        self.assertExitsZero(proc)
        ((props, msg, raw),) = self.delivered()
        self.assertEqual(msg["Subject"], "[PATCH] Add a blob and a README")
        self.assertEqual(props["Sender"], "alice@example.org")
        self.assertEqual(sorted(props["Recipients"]), ["bob@example.org", "carol@example.org"])

        # The mail as received, applied where the patch was made: the same tree.
        mail = os.path.join(self.home, "received.eml")
        with open(mail, "wb") as f:
            f.write(raw)
        run_git("checkout", "-q", "-b", "check", "HEAD~1")
        run_git("am", "-q", mail)
        self.assertEqual(run_git("rev-parse", "check^{tree}"), run_git("rev-parse", "main^{tree}"))
        with open(os.path.join(repo, "blob.bin"), "rb") as f:
            self.assertEqual(f.read(), blob)

    # A script: email.message.EmailMessage, "-t -oi", Bcc kept out of the copy
    def test_python_email_package_with_t(self):
        data = os.urandom(64 * 1024)
        msg = email.message.EmailMessage()
        msg["From"] = "Alice <alice@example.org>"
        msg["To"] = "Bob <bob@example.org>"
        msg["Cc"] = "carol@example.org"
        msg["Bcc"] = "archive@example.org"
        msg["Subject"] = "Report ✓ from Python"
        msg.set_content("The report is attached.\n.\nEnd.\n")
        msg.add_attachment(data, maintype="application", subtype="octet-stream",
                           filename="report.dat")
        proc = subprocess.run([SENDMAIL, "-t", "-oi"], input=msg.as_bytes(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                              timeout=RUN_TIMEOUT)
        self.assertExitsZero(proc)
        ((props, got, raw),) = self.delivered()
        self.assertEqual(got["Subject"], "Report ✓ from Python")
        self.assertEqual(sorted(props["Recipients"]),
                         ["archive@example.org", "bob@example.org", "carol@example.org"])
        self.assertIsNone(got["Bcc"])
        self.assertAttachment(got, "report.dat", data)
        self.assertEqual(got.get_body(("plain",)).get_content(),
                         "The report is attached.\n.\nEnd.\n")

    # -bs: Python's smtplib speaks SMTP on the program's stdin and stdout
    def test_smtplib_over_bs(self):
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        proc = subprocess.Popen([SENDMAIL, "-bs"], stdin=theirs, stdout=theirs,
                                stderr=subprocess.PIPE, env=self.env)
        theirs.close()
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        ours.settimeout(RUN_TIMEOUT)

        class PipeSMTP(smtplib.SMTP):
            def _get_socket(self, host, port, timeout):
                return ours

        smtp = PipeSMTP(local_hostname="client.example.org", timeout=RUN_TIMEOUT)
        code, greeting = smtp.connect("stdin", 25)
        self.assertEqual(code, 220, greeting)
        code, text = smtp.ehlo()
        self.assertEqual(code, 250, text)
        self.assertTrue(smtp.has_extn("8bitmime"))
        self.assertEqual(smtp.docmd("RCPT", "TO:<bob@example.org>")[0], 503, "MAIL first")
        self.assertEqual(smtp.docmd("DATA")[0], 503)

        data = os.urandom(20000)
        msg = email.message.EmailMessage()
        msg["From"] = "alice@example.org"
        msg["To"] = "bob@example.org"
        msg["Subject"] = "Over SMTP on stdin"
        msg.set_content(".leading dot\n..two\n.\n")
        msg.add_attachment(data, maintype="application", subtype="octet-stream",
                           filename="data.bin")
        refused = smtp.send_message(msg, "alice@example.org",
                                    ["bob@example.org", "carol@example.org"])
        self.assertEqual(refused, {})
        # A second message in the same session, without a From: one is added.
        smtp.sendmail("robot@example.org", ["dave@example.org"],
                      b"Subject: second\r\nTo: dave@example.org\r\n\r\nbody two\r\n")
        self.assertEqual(smtp.noop()[0], 250)
        self.assertEqual(smtp.quit()[0], 221)
        _, err = proc.communicate(timeout=RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)

        first, second = self.delivered(2)
        self.assertEqual(first[1]["Subject"], "Over SMTP on stdin")
        self.assertEqual(sorted(first[0]["Recipients"]), ["bob@example.org", "carol@example.org"])
        self.assertEqual(first[0]["Sender"], "alice@example.org")
        self.assertAttachment(first[1], "data.bin", data)
        self.assertEqual(first[1].get_body(("plain",)).get_content().replace("\r\n", "\n"),
                         ".leading dot\n..two\n.\n", "dot-stuffing undone")
        self.assertEqual(second[0]["Recipients"], ["dave@example.org"])
        self.assertEqual(second[0]["Sender"], "robot@example.org")
        self.assertEqual(second[1]["From"], "robot@example.org")


# Every option of Postfix's sendmail(1) and of Sendmail's sendmail(8) that
# goes with a message: each is delivered (with the recipient after it).
DELIVERY_OPTIONS = [
    ["-m"], ["-i"], ["-oi"], ["-o", "i"], ["-t"], ["-bm"], ["-ba"],
    ["-f", "alice@example.org"], ["-falice@example.org"], ["-r", "alice@example.org"],
    ["-F", "Alice Example"], ["-v"],
    ["-Am"], ["-Ac"], ["-B", "8BITMIME"], ["-B7BIT"],
    ["-C", "/etc/mail/sendmail.cf"], ["-C/etc/postfix"], ["-C", "-oi"],
    ["-c"], ["-D", "/dev/null"], ["-d"], ["-d0.1"], ["-d", "0-99.1"], ["-e", "m"],
    ["-G"], ["-h", "17"], ["-h17"], ["-L", "cron"], ["-Mrvalue"],
    ["-N", "success,delay,failure"], ["-Nnever"], ["-n"],
    ["-O", "DeliveryMode=background"], ["-OLogLevel=9"],
    ["-o7"], ["-o8"], ["-oA/etc/aliases"], ["-oB"], ["-oem"], ["-oee"], ["-oep"], ["-oeq"],
    ["-oew"], ["-oF"], ["-om"], ["-oQ/var/spool/mqueue"], ["-or30m"], ["-oX"], ["-odb"],
    ["-odi"], ["-o", "em"], ["-p", "ESMTP:client.example.org"], ["-R", "hdrs"], ["-Rfull"],
    ["-s"], ["-T"], ["-U"], ["-V", "envid-42"], ["-XV"], ["-XV+="], ["-X", "/dev/null"], ["-x"],
    # as programs combine them
    ["-i", "-m", "--"], ["-oem", "-oi", "--"], ["-i", "-f", "alice@example.org", "--"],
    ["-t", "-i", "-m", "-f", "alice@example.org"], ["-oi", "-N", "never", "-R", "full", "-V",
                                                    "x1", "-B", "8BITMIME", "--"],
]


class SendmailOptionsTest(MuaTestCase):

    def test_every_delivery_option_is_taken(self):
        for i, options in enumerate(DELIVERY_OPTIONS):
            subject = "options %d: %s" % (i, " ".join(options))
            message = make_message(subject=subject, to="bob@example.org")
            argv = list(options) if "-t" in options else list(options) + ["bob@example.org"]
            with self.subTest(options=options):
                self.assertExitsZero(self.sendmail(argv, message))
        delivered = self.delivered(len(DELIVERY_OPTIONS))
        for (props, msg, raw), options in zip(delivered, DELIVERY_OPTIONS):
            self.assertEqual(props["Recipients"], ["bob@example.org"], options)
            self.assertTrue(msg["Subject"].startswith("options "), options)

    # -m alone, then -i -m -- as s-nail and bsd-mailx pass it (the reported bug)
    def test_metoo(self):
        for argv in (["-m", "bob@example.org"], ["-i", "-m", "--", "bob@example.org"],
                     ["-i", "-t", "-m"]):
            with self.subTest(argv=argv):
                proc = self.sendmail(argv, make_message(subject=" ".join(argv)))
                self.assertExitsZero(proc)
                self.assertEqual(proc.stderr, b"")
        self.delivered(3)

    # -oi, -i and -O IgnoreDots: a lone "." stays; without them it ends the message
    def test_dot_options(self):
        body = "before\n.\nafter\n"
        for argv in (["-oi"], ["-o", "i"], ["-i"], ["-O", "IgnoreDots"], ["-OIgnoreDots=True"],
                     [], ["-OIgnoreDots=False"]):
            self.assertExitsZero(self.sendmail(argv + ["bob@example.org"],
                                               make_message(subject=repr(argv), body=body)))
        got = [msg.get_content().replace("\r\n", "\n") for _, msg, _ in self.delivered(7)]
        self.assertEqual(got, [body] * 5 + ["before\n"] * 2)

    # Modes that read no message and store nothing: exit 0 (-v says why)
    def test_modes_with_nothing_to_do(self):
        for argv in (["-bi"], ["-I"], ["-bh"], ["-bH"], ["-bC"], ["-q30m"], ["-q", "1h"],
                     ["-Q"], ["-Qreason"], ["-bi", "-oA/etc/aliases"]):
            with self.subTest(argv=argv):
                proc = self.sendmail(argv, b"not a message\n")
                self.assertExitsZero(proc)
                self.assertEqual(proc.stdout, b"")
                proc = self.sendmail(argv + ["-v"], b"")
                self.assertExitsZero(proc)
                self.assertIn(b"mailspool-sendmail: ", proc.stdout)
        self.assertEqual(self.outbound(), [])

    # -bd, -bD, -bl: mailspoold is the daemon; the program only checks it answers
    def test_daemon_modes_check_the_spooler(self):
        for mode in ("-bd", "-bD", "-bl"):
            proc = self.sendmail([mode])
            self.assertExitsZero(proc)
        self.h.stop_daemon()
        proc = self.sendmail(["-bd"])
        self.assertEqual(proc.returncode, EX_TEMPFAIL, proc.stderr)

    # -bv: recipients checked for nothing more than being given; no message read
    def test_verify(self):
        proc = self.sendmail(["-bv", "bob@example.org", "carol@example.org"], b"ignored\n")
        self.assertExitsZero(proc)
        lines = proc.stdout.decode().splitlines()
        self.assertEqual([line.split("...")[0] for line in lines],
                         ["bob@example.org", "carol@example.org"])
        self.assertEqual(self.outbound(), [])
        self.assertEqual(self.sendmail(["-bv"]).returncode, EX_USAGE)

    # -bt: address test mode cannot be offered
    def test_address_test_mode_is_unavailable(self):
        proc = self.sendmail(["-bt"], b"3,0 bob@example.org\n")
        self.assertEqual(proc.returncode, EX_UNAVAILABLE)
        self.assertIn(b"-bt", proc.stderr)

    # -bp (mailq): the waiting messages as Postfix's mailq shows them; -bP counts them
    def test_list_queue(self):
        proc = self.sendmail(["-bp"])
        self.assertExitsZero(proc)
        self.assertEqual(proc.stdout.decode(), "Mail queue is empty\n")
        self.assertExitsZero(self.sendmail(["-oi", "--hold", "-f", "alice@example.org",
                                            "bob@example.org", "carol@example.org"],
                                           make_message(subject="Wait")))
        self.assertExitsZero(self.sendmail(["-oi", "--at", "+2h", "dave@example.org"],
                                           make_message(subject="Later")))
        self.assertExitsZero(self.sendmail(["-oi", "erin@example.org"],
                                           make_message(subject="Gone")))
        held, scheduled, sent = [r[0] for r in self.outbound()]
        self.h.wait_for("the third sent", lambda: self.outbound()[2][1] == "sent")
        proc = self.sendmail(["-bp"])
        self.assertExitsZero(proc)
        lines = proc.stdout.decode().splitlines()
        self.assertTrue(lines[0].startswith("-Queue ID-"), lines)
        held_id, scheduled_id = held.rsplit("/", 1)[1], scheduled.rsplit("/", 1)[1]
        row = [line for line in lines if line.split()[:1] == [held_id + "!"]]
        self.assertEqual(len(row), 1, lines)
        self.assertTrue(row[0].endswith("alice@example.org"), row)
        self.assertIn(" " * 41 + "bob@example.org", lines)
        self.assertIn(" " * 41 + "carol@example.org", lines)
        self.assertIn(" " * 41 + "dave@example.org", lines)
        self.assertNotIn(" " * 41 + "erin@example.org", lines, "sent: not in the queue")
        self.assertTrue(any(line.split()[:1] == [scheduled_id] for line in lines), lines)
        self.assertTrue(any(line.startswith("(scheduled for ") for line in lines), lines)
        self.assertRegex(lines[-1], r"^-- \d+ Kbytes in 2 Requests\.$")
        proc = self.sendmail(["-bP"])
        self.assertExitsZero(proc)
        self.assertEqual(proc.stdout.decode(), "mailspoold: entries=2\n")
        self.assertEqual(self.sendmail(["-bp", "bob@example.org"]).returncode, EX_USAGE)

    def test_unknown_modes_and_conflicts_are_usage_errors(self):
        for argv in (["-bz", "bob@example.org"], ["-bp", "-t"], ["-q", "bob@example.org"],
                     ["-Z", "bob@example.org"], ["-t", "bob@example.org"], ["-i"]):
            with self.subTest(argv=argv):
                proc = self.sendmail(argv, make_message())
                self.assertEqual(proc.returncode, EX_USAGE, proc.stderr)
        self.assertEqual(self.outbound(), [])

    def test_help(self):
        for argv in (["-h"], ["--help"]):
            proc = self.sendmail(argv)
            self.assertExitsZero(proc)
            self.assertIn(b"Usage: mailspool-sendmail", proc.stdout)


class SendmailQueueRunTest(MuaTestCase):
    """The Maildir transport waits for a flush (SendMode=on-demand): -q is one."""

    SEND_MODE = "on-demand"

    def test_q_flushes_the_queue(self):
        for i, to in enumerate(("bob@example.org", "carol@example.org")):
            self.assertExitsZero(self.sendmail(["-oi", to], make_message(subject="q %d" % i)))
        self.assertEqual([r[1] for r in self.outbound()], ["queued", "queued"])
        self.assertEqual(self.h.maildir_files("local"), [])
        proc = self.sendmail(["-q", "-v"])
        self.assertExitsZero(proc)
        self.assertIn(b"2 sent, 0 deferred, 0 failed", proc.stdout)
        self.delivered(2)

    # -qR SITE, -qI ID and Sendmail's other selections: the whole queue is flushed
    def test_q_with_a_selection_flushes_everything(self):
        for argv in (["-qRexample.org"], ["-qI1"], ["-qSalice"], ["-qf"], ["-q!Rfoo"]):
            with self.subTest(argv=argv):
                self.assertExitsZero(self.sendmail(["-oi", "bob@example.org"],
                                                   make_message(subject=argv[0])))
                self.assertExitsZero(self.sendmail(argv))
                self.h.wait_for("sent", lambda: self.outbound()[-1][1] == "sent")
        self.delivered(5)


if __name__ == "__main__":
    harness.main()
