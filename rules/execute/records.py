"""What each output looked like when its step finished, so that an output changed on disk since is noticed.

SCons decides from its sources whether a target is current; a target edited in place (a flipped byte in a
binary, a patched archive member, a file edited in an unpacked source tree) would be taken as it is, and
linked. Like Bazel, every run compares each output with its record: equal stat (size, mtime, ctime, inode)
means unchanged; otherwise its sha256 decides. Records are appended to a journal as steps finish (a killed
run keeps what it completed) and rewritten compactly when the journal has grown.
"""
import json
import os
import threading

from .run import write_atomic
from .tree import file_sha256

JOURNAL = ".sconsrules-outputs.jsonl"


def _stat_key(st):
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _now(path):
    """How `path` looks now: its stat key and its sha256."""
    return _stat_key(os.stat(path)) + [file_sha256(path)]


class Records:
    """The journal of one build directory (its runs are serialized by the build lock)."""

    def __init__(self, build_dir):
        self.base = build_dir
        self.path = os.path.join(build_dir, JOURNAL)
        self._lock = threading.Lock()
        self._entries = None
        self._fh = None

    def _rel(self, path):
        prefix = self.base + os.sep
        return path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, self.base)

    def _load(self):
        if self._entries is not None:
            return
        self._entries, lines = {}, 0
        try:
            with open(self.path) as fh:
                for line in fh:
                    lines += 1
                    try:
                        rel, value = json.loads(line)
                        self._entries[rel] = value
                    except (ValueError, TypeError):
                        continue  # a line cut short by a killed run
        except OSError:
            pass
        if lines > 2 * len(self._entries) + 1000:
            self._rewrite()

    def _rewrite(self):
        write_atomic(self.path, "".join(json.dumps([rel, value]) + "\n" for rel, value in sorted(self._entries.items())))

    def _append(self, rel, value):
        self._entries[rel] = value
        if self._fh is None:
            os.makedirs(self.base, exist_ok=True)
            self._fh = open(self.path, "a")
        self._fh.write(json.dumps([rel, value]) + "\n")
        self._fh.flush()

    def _file_state(self, path, rel, record):
        """(changed?, value to record or None) for one file against its record."""
        try:
            st = os.stat(path)
        except OSError:
            return False, None  # gone: SCons rebuilds a missing target anyway
        if record and record[:4] == _stat_key(st):
            return False, None
        digest = file_sha256(path)
        if record and record[4] != digest:
            return True, None
        return False, _stat_key(st) + [digest]  # unrecorded or only touched: remember how it looks now

    def changed(self, paths, trees=()):
        """The outputs among `paths` (files) and `trees` (directories) modified since their steps finished."""
        found = []
        with self._lock:
            self._load()
            for path in paths:
                rel = self._rel(path)
                changed, update = self._file_state(path, rel, self._entries.get(rel))
                if changed:
                    found.append(path)
                elif update:
                    self._append(rel, update)
            for tree in trees:
                what = self._tree_changed(tree)
                if what:
                    found.append(what)
        return found

    def _tree_changed(self, tree):
        """None, or which file of the tree changed (the tree itself when files were added or removed)."""
        rel = self._rel(tree)
        listing = self._entries.get(rel + "/")
        if not os.path.isdir(tree) or listing is None:
            return None
        files = _walk(tree)
        if files != listing:
            return tree
        for name in files:
            path = os.path.join(tree, name)
            rel = self._rel(path)
            changed, update = self._file_state(path, rel, self._entries.get(rel))
            if changed:
                return path
            if update:
                self._append(rel, update)
        return None

    def record(self, paths, trees=()):
        """Remember how `paths` and every file below `trees` look now that their step has finished."""
        with self._lock:
            self._load()
            for path in paths:
                if os.path.isfile(path):
                    self._append(self._rel(path), _now(path))
            for tree in trees:
                files = _walk(tree)
                for name in files:
                    path = os.path.join(tree, name)
                    self._append(self._rel(path), _now(path))
                self._append(self._rel(tree) + "/", files)

    def digest(self, path):
        """The sha256 of `path` as it is now (from its record when its stat is unchanged), or None."""
        with self._lock:
            self._load()
            rel = self._rel(path)
            record = self._entries.get(rel)
            try:
                st = os.stat(path)
            except OSError:
                return None
            if record and record[:4] == _stat_key(st):
                return record[4]
            return file_sha256(path)


def _walk(tree):
    """Every file and link below `tree`, relative and sorted."""
    found = []
    for root, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(root, d))]:
            found.append(os.path.relpath(os.path.join(root, name), tree))
    return sorted(found)
