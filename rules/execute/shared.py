"""Where a shared step's verified directory output may come from instead of running its commands: the local disk
cache first, then a remote REAPI cache; and where it goes after a build. perform.py verifies whatever comes back
exactly like a fresh build, and calls `reject` when it fails, so a bad entry costs a rebuild, never an artifact.

Uploads happen only for outputs this run built and verified; never for a restored, failed or unverified one.
"""
import os
import threading
from collections import Counter
from typing import Optional

from . import cache
from .perform import emit
from .tree import remove

SOURCES = ("remote cache", "local cache", "built")
FILE_ENTRY = "output"  # a file output's name inside the directory its cache entry describes (its side files:
# the name plus their suffix)


class Tally:
    """What came from where in this run, and the bytes moved, for the end-of-build line."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def add(self, source: str) -> None:
        with self._lock:
            self.counts[source] += 1

    def line(self, remote) -> Optional[str]:
        if not self.counts or (remote is None and not self.counts["local cache"]):
            return None
        parts = [f"{self.counts[s]} {'built' if s == 'built' else 'from ' + s}" for s in SOURCES]
        moved = f"; {_size(remote.bytes_down)} down, {_size(remote.bytes_up)} up" if remote is not None else ""
        return f"sconsrules: shared outputs: {', '.join(parts)}{moved}"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


class SharedOutputs:
    def __init__(self, step, key: str, tally: Tally, remote=None, root: str = "", inputs=(), installs=()) -> None:
        self.step, self.key, self.tally, self.remote = step, key, tally, remote
        self.root, self.inputs, self.installs = root, tuple(inputs), tuple(installs)
        self.label = f"{step.rule} '{step.label}'"
        self._action = None

    def _remote_action(self):
        """(action digest, blobs) of the step, computed once, only when a remote cache is asked."""
        if self._action is None:
            from . import reapi

            blobs = reapi.Blobs()
            self._action = reapi.action(self.step, self.root, self.inputs, blobs, self.installs), blobs
        return self._action

    @property
    def _file(self) -> bool:
        return self.step.outputs.kind == "file"

    def restore(self, tmp: str) -> Optional[str]:
        """Put a stored output at `tmp` (a directory output there; a file output through a holder directory, so
        that both go through TreeWriter and its digest checks); the cache it came from, or None."""
        holder = tmp + ".restore" if self._file else tmp
        try:
            if cache.restore(self.key, holder, self.label):
                source = "local cache"
            elif self.remote is not None and self.remote.enabled and self._restore_remote(holder):
                source = "remote cache"
            else:
                return None
            if self._file:
                paths = [os.path.join(holder, FILE_ENTRY + suffix) for suffix in self.step.outputs.suffixes]
                if not all(os.path.isfile(p) and not os.path.islink(p) for p in paths):
                    self.reject(holder, source, "the stored entry lacks an output file")
                    return None
                for path, suffix in zip(paths, self.step.outputs.suffixes):
                    os.replace(path, tmp + suffix)
            return source
        finally:
            if self._file:
                remove(holder)

    def _restore_remote(self, dest: str) -> bool:
        from google.protobuf.message import DecodeError

        from . import reapi
        from .remote import RemoteUnavailable

        try:
            digest, _ = self._remote_action()
            result = self.remote.get_result(digest)
            if result is None:
                return False
            wanted = os.path.relpath(self.step.out, self.root)
            if result.exit_code != 0:
                raise reapi.BadTree(f"the result's exit code is {result.exit_code}")
            if self._file:
                tree = reapi.protos().Tree()
                for suffix in self.step.outputs.suffixes:
                    found = [f for f in result.output_files if f.path == wanted + suffix]
                    if len(found) != 1:
                        raise reapi.BadTree(f"the result has no output file {wanted + suffix}")
                    tree.root.files.add(name=FILE_ENTRY + suffix, digest=found[0].digest,
                                        is_executable=found[0].is_executable)
            else:
                found = [d for d in result.output_directories if d.path == wanted]
                if len(found) != 1:
                    raise reapi.BadTree(f"the result has no output directory {wanted}")
                tree = reapi.protos().Tree()
                tree.ParseFromString(self.remote.read_all(found[0].tree_digest))
            reapi.write_tree(tree, dest, self.remote.read)
            return True
        except RemoteUnavailable as exc:
            self.remote.disable(str(exc))
        except (reapi.BadTree, DecodeError, OSError) as exc:
            self._warn(f"remote cache entry rejected: {exc}")
        remove(dest)
        return False

    def reject(self, tmp: str, source: str, cause: str) -> None:
        """A restored output failed verification: drop the local entry (a remote one is the server's), say so."""
        if source == "local cache":
            cache.forget(self.key)
        self._warn(f"output from the {source} failed verification ({cause})")
        for suffix in self.step.outputs.suffixes:
            remove(tmp + suffix)

    def _warn(self, text: str) -> None:
        emit(f"sconsrules: warning: {self.label}: {text}; building instead")

    def store(self, tmp: str, source: Optional[str]) -> None:
        """After verification: keep the output locally (unless it came from there), upload it if this run built
        it and uploads are allowed."""
        self.tally.add(source or "built")
        if source != "local cache":
            try:
                self._store_locally(tmp)
            except OSError as exc:  # a full or unwritable cache costs the next build, never this one
                emit(f"sconsrules: warning: {self.label}: not kept in the local cache: {exc}")
        if source is None and self.remote is not None and self.remote.enabled and self.remote.settings.upload:
            self._upload(tmp)

    def _store_locally(self, tmp: str) -> None:
        if not self._file:
            cache.store(self.key, tmp)
            return
        holder = tmp + ".store"
        remove(holder)
        os.makedirs(holder)
        try:
            for suffix in self.step.outputs.suffixes:
                os.link(tmp + suffix, os.path.join(holder, FILE_ENTRY + suffix))
            cache.store(self.key, holder)
        finally:
            remove(holder)

    def _upload(self, tmp: str) -> None:
        from . import reapi
        from .remote import RemoteUnavailable

        try:
            digest, inputs = self._remote_action()
            blobs = reapi.Blobs()  # the outputs, and the Action's messages (not its input files: a cache needs none)
            blobs.data.update(inputs.data)
            blobs.digests.update((h, inputs.digests[h]) for h in inputs.data)
            result = reapi.protos().ActionResult(exit_code=0)
            path = os.path.relpath(self.step.out, self.root)
            if self._file:
                for suffix in self.step.outputs.suffixes:
                    result.output_files.add(path=path + suffix, digest=blobs.file(tmp + suffix),
                                            is_executable=os.access(tmp + suffix, os.X_OK))
            else:
                result.output_directories.add(path=path, tree_digest=blobs.message(reapi.tree_of(tmp, blobs)))
            self.remote.upload(blobs)
            self.remote.put_result(digest, result)
        except RemoteUnavailable as exc:
            self.remote.disable(str(exc))
