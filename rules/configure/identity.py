"""Toolchain identities (version strings) that enter artifact signatures, without a process per build.

A null build must start no compiler, so `zig version`, `go version` and friends run once and are cached,
keyed by the path, size and mtime of every file that defines the tool: replacing the tool changes the key.
The cache lives on disk (shared by runs) and in the run's ToolIdentities (shared by its threads).
"""
import json
import os
import subprocess
import threading
from typing import Dict, Optional, Sequence

from ..execute.run import write_atomic


def _cache_file() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sconsrules", "tool-identity.json")


def _stat_key(paths: Sequence[str]) -> str:
    parts = []
    for path in paths:
        st = os.stat(path)
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _load() -> dict:
    try:
        with open(_cache_file()) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


class ToolIdentities:
    """One run's memory of tool identities, in front of the cache file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memory: Dict[str, str] = {}

    def of(self, argv: Sequence[str], key_files: Sequence[str], env: Optional[dict] = None) -> str:
        """The stripped output of `argv`, cached under the identity of `key_files`."""
        key = " ".join(argv) + "|" + _stat_key(key_files)
        with self._lock:
            if key in self._memory:
                return self._memory[key]
            data = _load()
            if key not in data:
                out = subprocess.run(list(argv), capture_output=True, text=True, env=env, check=True, timeout=120)
                data[key] = " ".join((out.stdout or out.stderr).split())
                try:
                    write_atomic(_cache_file(), json.dumps(data, indent=1, sort_keys=True))
                except OSError:
                    pass  # an unwritable cache only costs a subprocess next time
            self._memory[key] = data[key]
            return data[key]
