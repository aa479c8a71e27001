"""A local cache of verified outputs (ForeignCLib installs always; with a remote cache, every cacheable step's), so
that OpenSSL is built once per machine, not once per checkout or CI run. Size-bounded: trim() evicts the least
recently used entries after a run that used it ($SCONSRULES_OUTPUT_CACHE_MAX, default 20 GB).

The layout is the Remote Execution API's, on disk: `cas/<aa>/<sha256>` holds file contents by digest, and
`ac/<aa>/<key>.json` an action result (the tree: files with their digests, links, directories) under the key of
the step (its signature with the checkout path replaced, and the content signatures of its inputs).

Nothing read from it is trusted: every file's bytes are hashed on their way into the tree and must match the
digest, the tree is written by tree.TreeWriter (no link leaves it, nothing is written through one), and the
step verifies the restored outputs again before they take their names. Anything unreadable or mismatched is a
miss: the entry is discarded with one warning and the step runs.
"""
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter

from .run import write_atomic
from .tree import TreeWriter, UnsafeTree, entries, read_chunks, remove

FORMAT = 1


class CacheMiss(Exception):
    """Why a stored entry could not be used (it has been discarded)."""


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("SCONSRULES_OUTPUT_CACHE") or os.path.join(base, "sconsrules", "cache")


def key_of(signature, input_signatures):
    h = hashlib.sha256(signature.encode())
    for sig in input_signatures:
        h.update(b"\0" + str(sig).encode())
    return h.hexdigest()


def _blob(digest):
    return os.path.join(cache_dir(), "cas", digest[:2], digest)


def _entry(key):
    return os.path.join(cache_dir(), "ac", key[:2], key + ".json")


def _publish(tmp, final):
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(tmp, final)


def _load(key):
    try:
        with open(_entry(key), "rb") as fh:
            result = json.loads(fh.read())
        if result.get("format") != FORMAT:
            raise ValueError(f"format {result.get('format')!r}")
        files, links, dirs = result["files"], result["symlinks"], result["directories"]
        for path, digest, size, executable in files:
            if not (isinstance(path, str) and isinstance(digest, str) and len(digest) == 64
                    and isinstance(size, int) and isinstance(executable, bool)):
                raise ValueError("a malformed file record")
        if not all(isinstance(p, str) and isinstance(t, str) for p, t in links) or \
                not all(isinstance(d, str) for d in dirs):
            raise ValueError("a malformed link or directory record")
        return files, links, dirs
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CacheMiss(f"unreadable entry ({type(exc).__name__}: {exc})") from None


def _restore(key, dest):
    found = _load(key)
    if found is None:
        return False
    files, links, dirs = found
    try:
        with TreeWriter(dest) as writer:
            for path in dirs:
                writer.directory(path)
            for path, digest, _size, executable in files:
                try:
                    with open(_blob(digest), "rb") as fh:
                        got = writer.file(path, read_chunks(fh), 0o755 if executable else 0o644)
                except FileNotFoundError:
                    raise CacheMiss(f"{path}: its content {digest[:12]} is missing") from None
                if got != digest:
                    _discard_blob(digest)
                    raise CacheMiss(f"{path}: content does not match its digest (sha256 {got[:12]}, "
                                    f"expected {digest[:12]})")
            for path, target in links:
                writer.symlink(path, target)
            writer.finish()
    except UnsafeTree as exc:
        raise CacheMiss(f"unsafe entry: {exc}") from None
    except OSError as exc:
        raise CacheMiss(f"cannot restore: {exc}") from None
    try:
        os.utime(_entry(key))  # used now: trim() evicts the least recently used first
    except OSError:
        pass
    return True


def _discard_blob(digest):
    try:
        os.remove(_blob(digest))
    except OSError:
        pass


def forget(key):
    """Drop an entry whose restored output failed verification."""
    try:
        os.remove(_entry(key))
    except OSError:
        pass


def restore(key, dest, label):
    """Rebuild the stored tree for `key` at `dest`; False (and nothing at dest) on a miss."""
    try:
        return _restore(key, dest)
    except CacheMiss as exc:
        remove(dest)
        forget(key)
        sys.stdout.write(f"sconsrules: warning: {label}: output cache entry {key[:12]} discarded: {exc}; "
                         "building instead\n")
        return False


def store(key, src):
    """Store the verified tree `src`: its files' contents by digest, then the entry that lists them."""
    found, links, dirs = entries(src)
    files = [(rel, _store_blob(path), os.path.getsize(path), executable) for rel, path, executable in found]
    write_atomic(_entry(key), json.dumps({"format": FORMAT, "files": files, "symlinks": links, "directories": dirs}))


def _store_blob(path):
    """Copy a file into the CAS (hashed while copied, so the name is the digest of what was stored)."""
    digest = hashlib.sha256()
    os.makedirs(os.path.join(cache_dir(), "cas"), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="incoming.", suffix=".tmp", dir=os.path.join(cache_dir(), "cas"))  # -j: unique
    with open(path, "rb") as src, os.fdopen(fd, "wb") as out:
        for chunk in read_chunks(src):
            digest.update(chunk)
            out.write(chunk)
    hexdigest = digest.hexdigest()
    if os.path.exists(_blob(hexdigest)):
        os.remove(tmp)
    else:
        _publish(tmp, _blob(hexdigest))
    return hexdigest


DEFAULT_MAX = 20 << 30  # bytes of blobs kept; $SCONSRULES_OUTPUT_CACHE_MAX (e.g. 5G) changes it


def max_bytes():
    """The size bound: $SCONSRULES_OUTPUT_CACHE_MAX in bytes, or with a K, M or G suffix."""
    text = os.environ.get("SCONSRULES_OUTPUT_CACHE_MAX", "").strip().upper()
    if not text:
        return DEFAULT_MAX
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
    try:
        return int(float(text.rstrip("KMG")) * scale)
    except ValueError:
        return DEFAULT_MAX


def trim(limit=None):
    """Evict least recently used entries (a restore touches its entry) until the blobs fit in `limit`, then
    the blobs no entry names any more. Another process's use of a removed entry is a miss, never an error."""
    limit = max_bytes() if limit is None else limit
    sizes = {}
    for root, _, files in os.walk(os.path.join(cache_dir(), "cas")):
        for name in files:
            if len(name) == 64:
                try:
                    sizes[name] = os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
    total = sum(sizes.values())
    if total <= limit:
        return 0
    entries = []
    for root, _, files in os.walk(os.path.join(cache_dir(), "ac")):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as fh:
                    digests = {f[1] for f in json.loads(fh.read()).get("files", ())}
                entries.append((os.stat(path).st_mtime, path, digests))
            except (OSError, ValueError, TypeError, IndexError, AttributeError):
                entries.append((0.0, path, set()))
    refs: Counter = Counter(d for _, _, digests in entries for d in digests)
    freed = 0
    for digest in [d for d in sizes if not refs[d]]:
        freed += _drop_blob(digest, sizes)
    for _, path, digests in sorted(entries, key=lambda e: e[0]):
        if total - freed <= limit * 0.9:
            break
        try:
            os.remove(path)
        except OSError:
            continue
        for digest in digests:
            refs[digest] -= 1
            if refs[digest] <= 0 and digest in sizes:
                freed += _drop_blob(digest, sizes)
    return freed


def _drop_blob(digest, sizes):
    try:
        os.remove(_blob(digest))
    except OSError:
        return 0
    return sizes.pop(digest)
