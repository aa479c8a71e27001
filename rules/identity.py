"""Toolchain identities (version strings) that enter artifact signatures, without a process per build.

A null build must start no compiler, so `zig version`, `go version` and friends run once and are cached,
keyed by the path, size and mtime of every file that defines the tool: replacing the tool changes the key.
"""
import json
import os
import subprocess
import threading

_lock = threading.Lock()
_memory = {}


def _cache_file():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sconsrules", "tool-identity.json")


def _stat_key(paths):
    parts = []
    for path in paths:
        st = os.stat(path)
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _load():
    try:
        with open(_cache_file()) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def _store(data):
    path = _cache_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only costs a subprocess next time


def tool_identity(argv, key_files, env=None):
    """Return the stripped output of `argv`, cached under the identity of `key_files`."""
    key = " ".join(argv) + "|" + _stat_key(key_files)
    with _lock:
        if key in _memory:
            return _memory[key]
        data = _load()
        if key not in data:
            out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True, timeout=120)
            data[key] = " ".join((out.stdout or out.stderr).split())
            _store(data)
        _memory[key] = data[key]
        return data[key]
