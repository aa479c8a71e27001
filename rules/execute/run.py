"""One scons run: its id, the lock it holds on a build directory, and the clean-up after a run that was killed.

Two runs in one build directory would write the same outputs and temporary files: the second waits for the
lock (flock, so a killed holder releases it at once) or, with --no-wait, stops with one line naming the holder.
Every command a run starts carries SCONSRULES_RUN=<run id> in its environment, and its direct children die
with scons (parent-death signal); whatever a killed run left running further down (a compiler under `go
build`) is found by that mark and stopped by the next run, which also removes the killed run's temporary files.
"""
import atexit
import fcntl
import json
import os
import signal
import sys
import threading

from .tree import remove

RUN_ID = f"{os.getpid()}-{os.urandom(4).hex()}"
MARK = "SCONSRULES_RUN"
LOCK_FILE = ".sconsrules-lock"
TMP_MARK = ".sconsrules-tmp"


class BuildDirectoryBusy(Exception):
    """Another run holds the lock and the user asked not to wait."""


def run_tmp(path: str) -> str:
    """This run's temporary name for `path`: two runs (or a killed run's leftovers) never share one."""
    return f"{path}.{RUN_ID}"


def write_atomic(path: str, data) -> None:
    """Write `data` (str or bytes) at `path` whole or not at all: through this run's temporary name, then a
    rename (a killed run's leftover is removed by the next run)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = run_tmp(f"{path}{TMP_MARK}.{threading.get_ident()}")
    try:
        with open(tmp, "wb" if isinstance(data, bytes) else "w") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


class BuildLock:
    """An exclusive lock on one build directory, held until this process exits."""

    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.path = os.path.join(build_dir, LOCK_FILE)
        self._fd = None

    def acquire(self, wait=True, say=None):
        say = say or (lambda text: sys.stdout.write(text + "\n"))
        os.makedirs(self.build_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd).get("pid", "?")
            where = os.path.relpath(self.build_dir)
            if not wait:
                os.close(fd)
                raise BuildDirectoryBusy(f"{where}/ is in use by another scons (pid {holder})") from None
            say(f"sconsrules: another scons (pid {holder}) is building in {where}/; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        previous = _read(fd)
        self._fd = fd
        self._write({"pid": os.getpid(), "run": RUN_ID, "finished": False})
        atexit.register(self.release)
        if previous.get("run") and not previous.get("finished"):
            stopped, removed = clean_up_after(previous["run"], self.build_dir)
            say(f"sconsrules: the previous run (pid {previous.get('pid', '?')}) did not finish: stopped {stopped} "
                f"of its processes, removed {removed} of its temporary files")
        return self

    def _write(self, record):
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps(record).encode())

    def release(self):
        if self._fd is not None:
            self._write({"pid": os.getpid(), "run": RUN_ID, "finished": True})
            os.close(self._fd)
            self._fd = None


def _read(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}


def clean_up_after(run_id, build_dir):
    """Stop the processes a killed run left (found by their mark) and remove its temporary files."""
    needle = f"{MARK}={run_id}".encode()
    stopped = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    os.kill(int(entry), signal.SIGKILL)
                    stopped += 1
        except OSError:
            continue  # gone meanwhile, or not ours to read
    suffix = "." + run_id
    removed = 0
    for root, dirnames, filenames in os.walk(build_dir):
        for name in list(dirnames) + filenames:
            if TMP_MARK in name and (name.endswith(suffix) or suffix + "." in name):  # a compiler's own temporary too
                path = os.path.join(root, name)
                if name in dirnames:
                    dirnames.remove(name)
                remove(path)
                removed += 1
    return stopped, removed
