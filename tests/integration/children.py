"""The servers a test starts (a keyring, a notification server, their X
display): stopped when the test ends, and also when the test process dies
without cleaning up.

live: the objects with a close() to call at exit; add to it when a server
starts and discard it when it is closed."""

import atexit
import ctypes
import os
import signal
import subprocess

STOP_TIMEOUT = 10.0

live = set()


def close_all():
    for obj in list(live):
        try:
            obj.close()
        except Exception:  # noqa: BLE001 - cleanup goes on
            pass


atexit.register(close_all)


def die_with_parent():
    """preexec_fn: prctl(PR_SET_PDEATHSIG, SIGTERM), so the child goes when the
    test process goes, even when it is killed and no atexit handler runs."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort
        pass


def stop(proc):
    """SIGTERM, then SIGKILL if it has not gone within STOP_TIMEOUT."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def read_text(path):
    """A log's text, or why it cannot be read (for failure messages)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError as e:
        return "<%s>" % e


def private_bus(directory):
    """For a module's self-check: a dbus-daemon of type session on a socket in
    directory, with the tests' bus.conf (no service directories) -> (process,
    address)."""
    conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bus.conf")
    with open(os.path.join(directory, "dbus-daemon.log"), "wb") as log:
        proc = subprocess.Popen(["dbus-daemon", "--config-file=" + conf,
                                 "--address=unix:path=" + os.path.join(directory, "bus"),
                                 "--nofork", "--print-address=1"],
                                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent)
    address = proc.stdout.readline().decode().strip()
    if not address:
        stop(proc)
        raise RuntimeError("dbus-daemon printed no address")
    return proc, address
