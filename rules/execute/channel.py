"""Commands into a running builder container without a `docker exec` each (issue 16: ~53 ms a command).

The builder's main process is a small sh server (SERVER). Its directory, on a read-write mount at the same path
inside and out, holds a FIFO of requests and the requests themselves: the host writes `<id>.sh` (cd, exports,
exec of the argv), makes the FIFO `<id>.done` and opens it for reading, then writes `<id>` to the requests
FIFO; the server runs the script in the background with its output in `<id>.out` and writes the exit status
into `<id>.done`. The server opens that FIFO read-write, so it never blocks when the host has gone; the host
knows the server has gone when the requests FIFO has no reader. The builder ends by itself when the file
`alive` (touched by the host) was left untouched for a whole idle period; idle 0 keeps it until it is removed.
"""
import errno
import itertools
import os
import re
import select
import shlex
import shutil
import threading

REQUESTS = "requests"
ALIVE = "alive"
PROTOCOL = "1"  # part of a kept builder's key: a builder from another protocol is never adopted
# $0 the directory, $1 the idle period (0: none). Each request runs in a subshell of a subshell, so tini (the
# container's init) reaps it, and its status is written through a read-write open that never blocks.
SERVER = r'''
dir=$0 idle=$1
exec 3<>"$dir/requests"
(while IFS= read -r id <&3; do
  ( (sh "$dir/$id.sh" </dev/null >"$dir/$id.out" 2>&1; echo $? 1<>"$dir/$id.done") & )
done) &
if [ "$idle" = 0 ]; then while :; do sleep 3600; done; fi
touch "$dir/alive"
while rm "$dir/alive" 2>/dev/null; do sleep "$idle"; done
'''
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
POLL_MS = 2000


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class ChannelGone(Exception):
    """The builder's server stopped answering (the container ended or was removed)."""


def script(argv, env, cwd):
    """The request's sh script, or None when the environment cannot be said in sh (a name sh cannot export)."""
    if not all(NAME.match(k) for k in env):
        return None
    lines = [f"cd {shlex.quote(cwd)} || exit 126"] if cwd else []
    lines += [f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())]
    tool = shlex.quote(argv[0])
    # the wording `docker exec` uses, which the executor reports as a missing tool
    lines.append(f"command -v {tool} >/dev/null 2>&1 || {{ echo \"exec: {argv[0]}: executable file not found\"; exit 127; }}")
    lines.append("exec " + shlex.join(argv))
    return "\n".join(lines) + "\n"


def sweep_runs(builders):
    """Remove the directories of one-run builders whose run is gone (a killed run leaves its own)."""
    try:
        names = os.listdir(builders)
    except FileNotFoundError:
        return
    for name in names:
        parts = name.split("-")
        if parts[0] == "run" and len(parts) == 3 and parts[1].isdigit() and not pid_alive(int(parts[1])):
            shutil.rmtree(os.path.join(builders, name), ignore_errors=True)


class Channel:
    """The host's end of one builder's server directory."""

    _ids = itertools.count()

    def __init__(self, directory):
        self.directory = directory
        self._lock = threading.Lock()

    def prepare(self):
        """A fresh directory with its requests FIFO, before the builder starts."""
        shutil.rmtree(self.directory, ignore_errors=True)
        os.makedirs(self.directory, mode=0o700)
        os.mkfifo(self._path(REQUESTS), 0o600)
        self.touch()

    def sweep(self):
        """Remove the requests a killed run left (their ids start with its pid)."""
        for name in os.listdir(self.directory):
            pid = name.split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                try:
                    os.unlink(self._path(name))
                except OSError:
                    pass

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)

    def _path(self, name):
        return os.path.join(self.directory, name)

    def touch(self):
        """Tell a kept builder's idle loop that a run uses it."""
        with open(self._path(ALIVE), "a"):
            pass

    def answers(self):
        """Whether the server reads requests (a FIFO opened for writing without a reader fails)."""
        try:
            fd = os.open(self._path(REQUESTS), os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        os.close(fd)
        return True

    def run(self, text):
        """Run the request script `text`; (exit status, output). ChannelGone when the server stops answering."""
        rid = f"{os.getpid()}-{next(self._ids)}"
        paths = [self._path(f"{rid}{s}") for s in (".sh", ".done", ".out")]
        with open(paths[0], "w") as fh:
            fh.write(text)
        os.mkfifo(paths[1], 0o600)
        done = os.open(paths[1], os.O_RDONLY | os.O_NONBLOCK)
        try:
            self._send(rid)
            status = self._wait(done)
            with open(paths[2], "rb") as fh:
                output = fh.read()
            return status, output
        finally:
            os.close(done)
            for path in paths:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def _send(self, rid):
        try:
            fd = os.open(self._path(REQUESTS), os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno in (errno.ENXIO, errno.ENOENT):
                raise ChannelGone() from None
            raise
        try:
            os.write(fd, f"{rid}\n".encode())  # shorter than PIPE_BUF: written whole, never interleaved
        finally:
            os.close(fd)

    def _wait(self, done):
        poller = select.poll()
        poller.register(done, select.POLLIN)
        data = b""
        while True:
            if poller.poll(POLL_MS):
                chunk = os.read(done, 64)
                data += chunk
                if data.endswith(b"\n"):
                    text = data.strip()
                    return int(text) if text.isdigit() else 125  # written by anything but the server: a failure
                if not chunk:  # the writer closed without a status: keep waiting for one, if it lives
                    if not self.answers():
                        raise ChannelGone()
                    poller.poll(50)
            elif not self.answers():
                raise ChannelGone()
