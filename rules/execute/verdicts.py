"""Passing verdicts of a build directory, so that an input verified before is not parsed again: every link
re-verifies its cdeps' archives (prechecks), and after a one-file edit most of them are the bytes that passed
last time. A verdict is keyed by the file's sha256, the whole policy and the verifier's own code: other bytes,
another policy or a changed verifier is a miss, and a miss is a full verification. Only passes are kept, only
after a full verification passed here, and only for prechecks: every artifact is still verified in full before
it takes its name.

The store is `<build>/.sconsrules-verdicts`, one key per line, appended (a killed run loses nothing it needs). It
lives with SCons's own signature database, which already decides what is rebuilt: whoever can write either can
change a build, so it adds no new party to trust.
"""
import hashlib
import os
import threading
from functools import lru_cache

from .tree import file_sha256

FILE = ".sconsrules-verdicts"
MAX_LINES = 200_000  # beyond this the store starts again (keys of long-gone inputs)


@lru_cache(maxsize=1)
def verifier_digest() -> str:
    """The verifier's code and data: a verdict of another version of it is not this one's."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "verify")
    h = hashlib.sha256()
    for name in sorted(os.listdir(here)):
        if name.endswith((".py", ".json")):
            with open(os.path.join(here, name), "rb") as fh:
                h.update(name.encode() + b"\0" + fh.read() + b"\0")
    return h.hexdigest()


class Verdicts:
    def __init__(self, build_dir: str):
        self.path = os.path.join(build_dir, FILE)
        self._lock = threading.Lock()
        self._keys = None

    def _load(self):
        if self._keys is None:
            try:
                with open(self.path) as fh:
                    lines = fh.read().split()
            except OSError:
                lines = []
            if len(lines) > MAX_LINES:
                lines = []
                try:
                    os.remove(self.path)
                except OSError:
                    pass
            self._keys = {line for line in lines if len(line) == 64}
        return self._keys

    @staticmethod
    def key(path: str, policy) -> str:
        return hashlib.sha256(f"{verifier_digest()}\0{file_sha256(path)}\0{policy!r}".encode()).hexdigest()

    def passed(self, key: str) -> bool:
        with self._lock:
            return key in self._load()

    def add(self, key: str) -> None:
        with self._lock:
            keys = self._load()
            if key in keys:
                return
            keys.add(key)
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(self.path, "a") as fh:
                fh.write(key + "\n")
