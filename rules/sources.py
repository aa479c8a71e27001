"""SourceArchive: third-party sources fetched once into a content-addressed store, checked, unpacked safely.

The store is keyed by sha256, so a later build with the same sha256 never touches the network. Mirrors are
tried in order (http, https, file); a download whose digest differs is refused and nothing is unpacked.
Unpacking refuses anything that could write outside the destination: absolute or `..` paths, device files,
FIFOs, absolute links and links (or hard links) that leave the tree.
"""
import hashlib
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile

import attrs

from .errors import RuleError

RULE = "SourceArchive"
CHUNK = 1 << 20


def store_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sconsrules", "archives")


@attrs.frozen
class SourceSpec:
    name: str
    urls: tuple
    sha256: str
    strip_prefix: str = ""


def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(spec):
    """The archive's path in the store, downloading it from the first mirror that serves the right bytes."""
    os.makedirs(store_dir(), exist_ok=True)
    final = os.path.join(store_dir(), spec.sha256)
    if os.path.exists(final) and _digest(final) == spec.sha256:
        return final
    failures = []
    for url in spec.urls:
        tmp = f"{final}.{os.getpid()}.part"
        try:
            h = hashlib.sha256()
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                for block in iter(lambda: response.read(CHUNK), b""):
                    h.update(block)
                    out.write(block)
            if h.hexdigest() != spec.sha256:
                failures.append(f"{url}: sha256 {h.hexdigest()} does not match")
                continue
            os.replace(tmp, final)
            return final
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise RuleError(RULE, spec.name, "no mirror served the archive: " + "; ".join(failures),
                    "check the URLs and the sha256 (it must be the archive's, not the unpacked tree's)")


def _inside(root, path):
    root = os.path.realpath(root)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def _check_name(name, what):
    parts = name.replace("\\", "/").split("/")
    if name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"{what} {name!r} would be written outside the destination")


def _unpack_tar(path, dest):
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        for m in members:
            _check_name(m.name, "entry")
            if m.isdev() or m.isfifo():
                raise ValueError(f"entry {m.name!r} is a device or FIFO")
            if m.issym():
                if m.linkname.startswith("/"):
                    raise ValueError(f"symlink {m.name!r} points to an absolute path {m.linkname!r}")
                target = os.path.join(dest, os.path.dirname(m.name), m.linkname)
                if not _inside(dest, target):
                    raise ValueError(f"symlink {m.name!r} points outside the tree ({m.linkname!r})")
            if m.islnk():
                _check_name(m.linkname, "hard link target")
        for m in members:
            # Extract one by one, refusing to write through a symlink made by an earlier entry.
            if not _inside(dest, os.path.join(dest, m.name)):
                raise ValueError(f"entry {m.name!r} would be written through a link outside the destination")
            m.mode = (m.mode | stat.S_IRUSR | stat.S_IWUSR) & 0o7755
            m.uid = m.gid = 0
            m.uname = m.gname = ""
            tar.extract(m, dest, set_attrs=True, numeric_owner=True)


def _unpack_zip(path, dest):
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            _check_name(info.filename, "entry")
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise ValueError(f"entry {info.filename!r} is a link or special file")
        for info in archive.infolist():
            archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o755
            if mode and not info.is_dir():
                os.chmod(os.path.join(dest, info.filename), mode | stat.S_IRUSR | stat.S_IWUSR)


def unpack(spec, archive, dest):
    """Unpack `archive` into `dest` (replaced whole), honouring strip_prefix."""
    tmp = dest + ".sconsrules-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        try:
            if zipfile.is_zipfile(archive):
                _unpack_zip(archive, tmp)
            elif tarfile.is_tarfile(archive):
                _unpack_tar(archive, tmp)
            else:
                raise ValueError("not a tar (gz, bz2, xz) or zip archive")
        except (ValueError, tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise RuleError(RULE, spec.name, f"refusing to unpack: {exc}", "the archive is unsafe or damaged") from None
        root = tmp
        if spec.strip_prefix:
            root = os.path.join(tmp, spec.strip_prefix)
            if not os.path.isdir(root):
                found = ", ".join(sorted(os.listdir(tmp))[:5])
                raise RuleError(RULE, spec.name, f"strip_prefix {spec.strip_prefix!r} is not in the archive "
                                f"(top level: {found})")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(root, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _materialize(target, source, env):
    import SCons.Errors
    spec = target[0].attributes.sconsrules_source_spec
    dest = target[0].attributes.sconsrules_source_dir
    try:
        unpack(spec, fetch(spec), dest)
    except RuleError as exc:
        raise SCons.Errors.BuildError(node=target[0], errstr=exc.line(), status=2, exitstatus=2) from None
    with open(target[0].abspath, "w") as fh:
        fh.write(f"{spec.sha256} {spec.strip_prefix}\n")
    return 0


def _show(target, source, env):
    return f"{RULE} {target[0].attributes.sconsrules_source_spec.name}: fetch and unpack"


def declare_archive(env, name, urls, sha256, strip_prefix):
    """Check the declaration; return the stamp node whose build leaves the unpacked tree beside it."""
    import SCons.Action
    import SCons.Builder

    if isinstance(urls, str):
        urls = [urls]
    if not urls or not all(isinstance(u, str) and u.split(":", 1)[0] in ("http", "https", "file") for u in urls):
        raise RuleError(RULE, name, f"urls must be a list of http://, https:// or file:// URLs, not {urls!r}")
    if not isinstance(sha256, str) or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise RuleError(RULE, name, "sha256 must be the archive's 64-hex-digit SHA-256", "sha256sum FILE")
    if not isinstance(strip_prefix, str) or strip_prefix.startswith("/") or ".." in strip_prefix.split("/"):
        raise RuleError(RULE, name, f"strip_prefix must be a relative directory, not {strip_prefix!r}")
    spec = SourceSpec(name, tuple(urls), sha256.lower(), strip_prefix.strip("/"))
    build = env.Dir(env["SCONSRULES_BUILD_DIR"]).abspath
    dest = os.path.join(build, "_src", f"{name}-{spec.sha256[:12]}")
    if dest not in _declared:
        builder = SCons.Builder.Builder(action=SCons.Action.Action(_materialize, _show,
                                                                   varlist=["SCONSRULES_SOURCE_SIG"]))
        node = builder(env, dest + ".stamp", [], SCONSRULES_SOURCE_SIG=repr(attrs.astuple(spec)[2:]))[0]
        node.attributes.sconsrules_source_spec = spec
        node.attributes.sconsrules_source_dir = dest
        _declared[dest] = node
    return _declared[dest]


_declared = {}  # one node per (name, sha256): the same archive declared twice is fetched once
