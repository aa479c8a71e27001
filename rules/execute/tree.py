"""Writing an untrusted tree (an archive's entries, a cache entry) below one directory, and nowhere else.

Every entry is created relative to directory descriptors opened with O_NOFOLLOW, so nothing is ever written
through a symbolic link, whatever links earlier entries made. Hard links become copies of a regular file
already written. Once every entry is in, each symbolic link is resolved inside the tree (following the links
it meets, as the kernel would); one that leaves the tree, is absolute or loops makes the whole tree refused.
Limits on bytes, entries and compression ratio stop archive bombs before they fill the disk.
"""
import hashlib
import os
import shutil
import stat

import attrs

CHUNK = 1 << 20
MAX_LINK_HOPS = 40
RATIO_FLOOR = 64 << 20  # below this many unpacked bytes, no ratio is suspicious


class UnsafeTree(ValueError):
    """An entry would leave the tree, replace what it must not, or exceed a limit."""


@attrs.frozen
class Limits:
    """Defaults fit the largest real source releases (LLVM's monorepo: ~2 GB in ~150,000 files, ratio ~12)."""

    max_bytes: int = 4 << 30
    max_entries: int = 250_000
    max_ratio: int = 200


def entry_parts(name):
    """The path components of an entry name; absolute names, `..` and drive letters are refused."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeTree(f"entry {name!r} has an absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise UnsafeTree(f"entry {name!r} climbs out of the tree ('..')")
    return [p for p in name.split("/") if p not in ("", ".")]


def remove(path):
    """Remove a file, link or tree (never following a link)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


class TreeWriter:
    """Creates entries below `root` (made empty first). Use as a context manager; `finish()` validates."""

    def __init__(self, root, limits=None, compressed_size=0):
        remove(root)
        os.makedirs(root)
        self.root = root
        self.limits = limits or Limits()
        self.compressed_size = compressed_size
        self.entries = 0
        self.bytes = 0
        self.declared = 0
        self._links = []
        self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None

    def expect(self, name, size):
        """Count an entry and its announced size against the limits before anything of it is written."""
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise UnsafeTree(f"more than {self.limits.max_entries} entries (limit max_entries)")
        self.declared += max(0, int(size))
        self._check_size(self.declared, name)

    def _check_size(self, total, name):
        if total > self.limits.max_bytes:
            raise UnsafeTree(f"more than {self.limits.max_bytes} bytes unpacked at {name!r} (limit max_bytes)")
        if self.compressed_size and total > RATIO_FLOOR and total > self.limits.max_ratio * self.compressed_size:
            raise UnsafeTree(f"unpacks to more than {self.limits.max_ratio} times its size at {name!r} "
                             "(limit max_ratio): an archive bomb?")

    def _parent(self, parts):
        """A descriptor of the directory holding `parts[-1]`, creating missing directories, following no link."""
        fd = os.dup(self._root_fd)
        try:
            for i, part in enumerate(parts[:-1]):
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except (NotADirectoryError, OSError) as exc:
                    where = "/".join(parts[:i + 1])
                    raise UnsafeTree(f"entry {'/'.join(parts)!r} passes through {where!r}, which is a link "
                                     f"or a file ({exc.strerror}): nothing is created through a link") from None
                os.close(fd)
                fd = nxt
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _clear(self, fd, leaf, parts):
        """Make room for a new entry: a file or link of that name is replaced, a directory is not."""
        try:
            st = os.stat(leaf, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeTree(f"entry {'/'.join(parts)!r} would replace a directory")
        os.unlink(leaf, dir_fd=fd)

    def directory(self, name, mode=0o755):
        parts = entry_parts(name)
        if not parts:
            return
        fd = self._parent(parts)
        try:
            try:
                st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    raise UnsafeTree(f"directory {name!r} is already a file or link")
            except FileNotFoundError:
                os.mkdir(parts[-1], 0o755, dir_fd=fd)
            leaf = os.open(parts[-1], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            try:
                os.fchmod(leaf, (mode & 0o755) | 0o700)
            finally:
                os.close(leaf)
        finally:
            os.close(fd)

    def file(self, name, chunks, mode=0o644):
        """Write a regular file from an iterable of byte chunks; returns its sha256 (hex)."""
        parts = entry_parts(name)
        if not parts:
            raise UnsafeTree(f"file entry {name!r} has no name")
        fd = self._parent(parts)
        try:
            self._clear(fd, parts[-1], parts)
            # setuid, setgid and sticky bits are dropped; the owner may always read and write.
            out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                          (mode & 0o755) | 0o600, dir_fd=fd)
        finally:
            os.close(fd)
        digest = hashlib.sha256()
        with os.fdopen(out, "wb") as fh:
            for chunk in chunks:
                self.bytes += len(chunk)
                self._check_size(max(self.bytes, self.declared), name)
                digest.update(chunk)
                fh.write(chunk)
            os.fchmod(fh.fileno(), (mode & 0o755) | 0o600)
        return digest.hexdigest()

    def symlink(self, name, target):
        parts = entry_parts(name)
        if not parts:
            raise UnsafeTree(f"link entry {name!r} has no name")
        if not target or target.startswith("/"):
            raise UnsafeTree(f"link {name!r} points to an absolute path {target!r}")
        fd = self._parent(parts)
        try:
            self._clear(fd, parts[-1], parts)
            os.symlink(target, parts[-1], dir_fd=fd)
        finally:
            os.close(fd)
        self._links.append((parts, target))

    def hardlink(self, name, target_name):
        """A hard link becomes a copy of a regular file already in the tree, reached without following links."""
        src_parts = entry_parts(target_name)
        if not src_parts:
            raise UnsafeTree(f"hard link {name!r} has no target")
        fd = self._parent(src_parts)
        try:
            src = os.open(src_parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            raise UnsafeTree(f"hard link {name!r} -> {target_name!r}: the target is not a file of the tree "
                             f"({exc.strerror})") from None
        finally:
            os.close(fd)
        with os.fdopen(src, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise UnsafeTree(f"hard link {name!r} -> {target_name!r}: the target is not a regular file")
            return self.file(name, iter(lambda: fh.read(CHUNK), b""), st.st_mode)

    def resolve(self, parts):
        """Where `parts` leads inside the tree, following links; UnsafeTree if it leaves the tree or loops."""
        done, todo, hops = [], list(parts), 0
        while todo:
            part = todo.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not done:
                    raise UnsafeTree("leaves the tree")
                done.pop()
                continue
            path = os.path.join(self.root, *done, part)
            if os.path.islink(path):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise UnsafeTree("too many levels of links")
                target = os.readlink(path)
                if target.startswith("/"):
                    raise UnsafeTree(f"reaches an absolute link {target!r}")
                todo = target.split("/") + todo
            else:
                done.append(part)
        return done

    def finish(self):
        """Check every link now that the whole tree exists; close."""
        try:
            for parts, target in self._links:
                try:
                    self.resolve(parts[:-1] + target.split("/"))
                except UnsafeTree as exc:
                    raise UnsafeTree(f"link {'/'.join(parts)!r} -> {target!r} {exc}") from None
        finally:
            self.close()


def read_chunks(fh):
    return iter(lambda: fh.read(CHUNK), b"")


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in read_chunks(fh):
            digest.update(chunk)
    return digest.hexdigest()


def entries(src):
    """A written tree, read back without following links: (files as (relative path, path, executable), links
    as (relative path, target), directories as relative paths), in a stable order."""
    files, links, dirs = [], [], []
    for root, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel_root = os.path.relpath(root, src)
        for name in list(dirnames):
            path = os.path.join(root, name)
            if os.path.islink(path):
                dirnames.remove(name)
                filenames.append(name)
            else:
                dirs.append(os.path.normpath(os.path.join(rel_root, name)))
        for name in sorted(filenames):
            path = os.path.join(root, name)
            rel = os.path.normpath(os.path.join(rel_root, name))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                links.append((rel, os.readlink(path)))
            elif stat.S_ISREG(st.st_mode):
                files.append((rel, path, bool(st.st_mode & 0o100)))
    return files, links, dirs
