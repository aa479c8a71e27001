"""A local cache of verified directory outputs (ForeignCLib installs), keyed by the step's signature and
the content of every input, so that OpenSSL is built once per machine, not once per checkout or CI run.

Only what passed verification is stored; what is restored is verified again before it takes its name.
SCons's CacheDir cannot do this: it caches declared files, and a foreign build's headers are not declared.
"""
import hashlib
import os
import shutil
import tarfile


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("SCONSRULES_OUTPUT_CACHE") or os.path.join(base, "sconsrules", "outputs")


def key_of(signature, input_signatures):
    h = hashlib.sha256(signature.encode())
    for sig in input_signatures:
        h.update(b"\0" + str(sig).encode())
    return h.hexdigest()


def _path(key):
    return os.path.join(cache_dir(), key[:2], key + ".tar")


def restore(key, dest):
    """Unpack the cached tree for `key` into `dest`; False when there is none."""
    path = _path(key)
    if not os.path.isfile(path):
        return False
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if member.name.startswith("/") or ".." in member.name.split("/") or member.isdev():
                return False
        tar.extractall(dest)
    return True


def store(key, src):
    path = _path(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with tarfile.open(tmp, "w") as tar:
        tar.add(src, arcname=".")
    os.replace(tmp, path)
