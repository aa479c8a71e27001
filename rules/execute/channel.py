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
import os
import re
import select
import shlex
import stat
import time

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
MAX_OUTPUT = 64 << 20  # bytes of one command's output read at most
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


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
    lines.append(f"command -v {tool} >/dev/null 2>&1 || "
                 f"{{ printf 'exec: %s: executable file not found\\n' {tool}; exit 127; }}")
    lines.append("exec " + shlex.join(argv))
    return "\n".join(lines) + "\n"


def _remove_entry(name, dir_fd):
    """Remove `name` in `dir_fd`, a tree or anything else, never following a symlink."""
    try:
        os.unlink(name, dir_fd=dir_fd)  # a file, FIFO or symlink
        return
    except FileNotFoundError:
        return
    except (IsADirectoryError, PermissionError):
        pass
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        for entry in os.listdir(fd):
            _remove_entry(entry, fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


class Channel:
    """The host's end of one builder's server directory, `<root>/builders/<name>`.

    `root` is the mount itself, which a builder cannot replace; everything below it can be changed by the
    commands a builder runs, so the host reaches it only through directory descriptors opened without
    following symlinks, creates its files exclusively, and reads only regular files: a hostile command cannot
    turn the channel into a way to read or write elsewhere on the host.
    """

    def __init__(self, root, name):
        self.root = root
        self.name = name
        self.directory = os.path.join(root, "builders", name)
        self._parent = None  # descriptor of <root>/builders
        self._fd = None  # descriptor of the directory itself

    def _open_parent(self):
        top = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                os.mkdir("builders", 0o700, dir_fd=top)
            except FileExistsError:
                pass
            try:
                return os.open("builders", _DIR_FLAGS, dir_fd=top)
            except OSError:  # a symlink or a file where the directory belongs
                _remove_entry("builders", top)
                os.mkdir("builders", 0o700, dir_fd=top)
                return os.open("builders", _DIR_FLAGS, dir_fd=top)
        finally:
            os.close(top)

    def prepare(self):
        """A fresh directory with its requests FIFO, before the builder starts; removes what builders of killed
        runs left."""
        self.close()
        os.makedirs(self.root, exist_ok=True)
        self._parent = self._open_parent()
        for entry in os.listdir(self._parent):
            parts = entry.split("-")
            if parts[0] == "run" and len(parts) == 3 and parts[1].isdigit() and not pid_alive(int(parts[1])):
                _remove_entry(entry, self._parent)
        _remove_entry(self.name, self._parent)
        os.mkdir(self.name, 0o700, dir_fd=self._parent)
        self._fd = os.open(self.name, _DIR_FLAGS, dir_fd=self._parent)
        os.mkfifo(REQUESTS, 0o600, dir_fd=self._fd)
        self.touch()

    def attach(self):
        """Open an existing directory (a kept builder's); False when there is none to trust."""
        self.close()
        try:
            self._parent = self._open_parent()
            self._fd = os.open(self.name, _DIR_FLAGS, dir_fd=self._parent)
        except OSError:
            self.close()
            return False
        return True

    def sweep(self):
        """Remove the requests a killed run left (their ids start with its pid)."""
        for name in os.listdir(self._fd):
            pid = name.split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                _remove_entry(name, self._fd)

    def remove(self):
        if self._parent is not None:
            _remove_entry(self.name, self._parent)
        self.close()

    def close(self):
        for fd in (self._fd, self._parent):
            if fd is not None:
                os.close(fd)
        self._fd = self._parent = None

    def touch(self):
        """Tell a kept builder's idle loop that a run uses it."""
        if self._fd is None:
            raise OSError(errno.EBADF, "the channel is closed")
        fd = os.open(ALIVE, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600,
                     dir_fd=self._fd)
        try:
            os.utime(fd)
        finally:
            os.close(fd)

    def _requests(self):
        """The requests FIFO opened for writing; OSError when it has no reader or is not a FIFO."""
        fd = os.open(REQUESTS, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._fd)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.ENXIO, "not a FIFO")
        return fd

    def answers(self):
        """Whether the server reads requests (a FIFO opened for writing without a reader fails)."""
        if self._fd is None:
            return False
        try:
            os.close(self._requests())
        except OSError:
            return False
        return True

    def run(self, text):
        """Run the request script `text`; (exit status, output). ChannelGone when the server stops answering."""
        rid = f"{os.getpid()}-{os.urandom(8).hex()}"
        names = [f"{rid}{s}" for s in (".sh", ".done", ".out")]
        try:
            fd = os.open(names[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=self._fd)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.mkfifo(names[1], 0o600, dir_fd=self._fd)
            done = os.open(names[1], os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._fd)
        except OSError:
            raise ChannelGone() from None
        try:
            self._send(rid)
            return self._wait(done), self._output(names[2])
        finally:
            os.close(done)
            for name in names:
                try:
                    os.unlink(name, dir_fd=self._fd)
                except OSError:
                    pass

    def _output(self, name):
        """The command's output: a regular file, read up to MAX_OUTPUT bytes."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._fd)
        except OSError:
            return b"(the builder left no output file)\n"
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return b"(the output is not a regular file)\n"
            data = fh.read(MAX_OUTPUT + 1)
        return data[:MAX_OUTPUT] + b"\n(output truncated)\n" if len(data) > MAX_OUTPUT else data

    def _send(self, rid):
        try:
            fd = self._requests()
        except OSError:
            raise ChannelGone() from None
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
                    time.sleep(0.05)
            elif not self.answers():
                raise ChannelGone()
