"""SourceArchive: third-party sources fetched once into a content-addressed store, checked, unpacked safely.

The store is keyed by sha256, so a later build with the same sha256 never touches the network. Mirrors are
tried in order (http, https, file); a download whose digest differs is refused and nothing is unpacked.
Unpacking goes through tree.TreeWriter, which never writes through a link and refuses absolute or `..` paths,
device files, FIFOs, links that leave the tree, and archives over their limits (bytes, entries, ratio).
"""
import hashlib
import lzma
import os
import re
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

import attrs

from .declare import check_name
from .errors import RuleError
from .execute.run import TMP_MARK, run_tmp
from .tree import Limits, TreeWriter, UnsafeTree, file_sha256, read_chunks, remove

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
    limits: Limits = Limits()


APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")


def apt_mirrors(sources=APT_SOURCES):
    """The archives this machine's apt is configured with (deb822 `.sources` and one-line `.list` files), in order,
    for URLs of a distribution's copies of releases: a project names no host, each machine uses its own mirror."""
    files = []
    for place in sources:
        if os.path.isdir(place):
            files += sorted(os.path.join(place, f) for f in os.listdir(place) if f.endswith((".list", ".sources")))
        elif os.path.isfile(place):
            files.append(place)
    found = []
    for path in files:
        try:
            with open(path, errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for stanza in text.split("\n\n"):
                fields = dict(line.split(":", 1) for line in stanza.splitlines()
                              if ":" in line and not line.startswith(("#", " ", "\t")))
                if fields.get("Enabled", "yes").strip().lower() != "no":
                    found += fields.get("URIs", "").split()
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()  # options: [arch=... signed-by=...]
                if len(words) > 2 and words[0] in ("deb", "deb-src"):
                    found.append(words[1])
    return list(dict.fromkeys(u.rstrip("/") for u in found if u.startswith(("http://", "https://"))))


def configured_distdirs():
    """Directories of pre-fetched archives (Bazel's --distdir): `--distdir=DIR` (repeatable) and
    $SCONSRULES_DISTDIR (several separated by ':'). Where the bytes come from never enters a signature."""
    dirs = [d for d in os.environ.get("SCONSRULES_DISTDIR", "").split(os.pathsep) if d]
    try:
        import SCons.Script
        dirs = list(SCons.Script.GetOption("sconsrules_distdir") or []) + dirs
    except (ImportError, AttributeError):
        pass
    return [os.path.abspath(os.path.expanduser(d)) for d in dirs]


def _candidates(spec, distdirs):
    """Files in the distdirs named by the archive's sha256 or by the last part of one of its URLs."""
    names = dict.fromkeys([spec.sha256] + [os.path.basename(urllib.parse.urlparse(u).path) for u in spec.urls])
    for directory in distdirs:
        for name in names:
            path = os.path.join(directory, name)
            if name and os.path.isfile(path):
                yield path


def fetch(spec, distdirs=()):
    """The archive's path in the store: from a distdir, else from the first mirror that serves the right bytes."""
    os.makedirs(store_dir(), exist_ok=True)
    final = os.path.join(store_dir(), spec.sha256)
    if os.path.exists(final) and file_sha256(final) == spec.sha256:
        return final
    sources = [(path, lambda path=path: open(path, "rb")) for path in _candidates(spec, distdirs)]
    sources += [(url, lambda url=url: urllib.request.urlopen(url, timeout=60)) for url in spec.urls]
    failures = []
    for where, opener in sources:
        tmp = f"{final}.{os.getpid()}.part"
        try:
            h = hashlib.sha256()
            with opener() as response, open(tmp, "wb") as out:
                for block in iter(lambda response=response: response.read(CHUNK), b""):
                    h.update(block)
                    out.write(block)
            if h.hexdigest() != spec.sha256:
                failures.append(f"{where}: sha256 {h.hexdigest()} does not match")
                continue
            os.replace(tmp, final)
            return final
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures.append(f"{where}: {getattr(exc, 'reason', None) or exc}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    where = f" nor any of {', '.join(distdirs)}" if distdirs else ""
    raise RuleError(RULE, spec.name, f"no mirror{where} served the archive: " + "; ".join(failures or ["none given"]),
                    "check the URLs and the sha256 (it must be the archive's, not the unpacked tree's), or put "
                    "the file in a --distdir")


def _unpack_tar(path, writer):
    with tarfile.open(path) as tar:
        for m in tar:
            writer.expect(m.name, m.size if m.isreg() else 0)
            if m.isdev() or m.isfifo():
                raise UnsafeTree(f"entry {m.name!r} is a device or FIFO")
            if m.isdir():
                writer.directory(m.name, m.mode)
            elif m.issym():
                writer.symlink(m.name, m.linkname)
            elif m.islnk():
                writer.hardlink(m.name, m.linkname)
            elif m.isreg():
                with tar.extractfile(m) as fh:
                    writer.file(m.name, read_chunks(fh), m.mode)
            else:
                raise UnsafeTree(f"entry {m.name!r} has an unsupported type {m.type!r}")


def _unpack_zip(path, writer):
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            writer.expect(info.filename, info.file_size)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeTree(f"entry {info.filename!r} is a link or special file")
            mode = (info.external_attr >> 16) & 0o7777 or 0o644
            if info.is_dir():
                writer.directory(info.filename, mode)
            else:
                with archive.open(info) as fh:
                    writer.file(info.filename, read_chunks(fh), mode)


def unpack(spec, archive, dest):
    """Unpack `archive` into `dest` (replaced whole), honouring strip_prefix and the spec's limits."""
    tmp = run_tmp(dest + TMP_MARK)
    try:
        try:
            with TreeWriter(tmp, spec.limits, os.path.getsize(archive)) as writer:
                if zipfile.is_zipfile(archive):
                    _unpack_zip(archive, writer)
                elif tarfile.is_tarfile(archive):
                    _unpack_tar(archive, writer)
                else:
                    raise UnsafeTree("not a tar (gz, bz2, xz) or zip archive")
                writer.finish()
        except UnsafeTree as exc:
            hint = ("if the archive is genuine, raise the limit for it: SourceArchive(..., max_bytes=, max_entries=, "
                    "max_ratio=)") if "(limit " in str(exc) else "the archive is unsafe or damaged"
            raise RuleError(RULE, spec.name, f"refusing to unpack: {exc}", hint) from None
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise RuleError(RULE, spec.name, f"refusing to unpack: {exc}", "the archive is unsafe or damaged") from None
        root = tmp
        if spec.strip_prefix:
            root = os.path.join(tmp, spec.strip_prefix)
            if not os.path.isdir(root) or os.path.islink(root):
                found = ", ".join(sorted(os.listdir(tmp))[:5])
                raise RuleError(RULE, spec.name, f"strip_prefix {spec.strip_prefix!r} is not a directory of the "
                                f"archive (top level: {found})")
        remove(dest)
        os.replace(root, dest)
    finally:
        remove(tmp)


def _materialize(target, source, env):
    import SCons.Errors
    spec = target[0].attributes.sconsrules_source_spec
    dest = target[0].attributes.sconsrules_source_dir
    try:
        unpack(spec, fetch(spec, configured_distdirs()), dest)
    except RuleError as exc:
        raise SCons.Errors.BuildError(node=target[0], errstr=exc.line(), status=2, exitstatus=2) from None
    with open(target[0].abspath, "w") as fh:
        fh.write(f"{spec.sha256} {spec.strip_prefix}\n")
    from .context import CONTEXT
    CONTEXT.records_for(env).record([target[0].abspath], [dest])
    return 0


def _show(target, source, env):
    return f"{RULE} {target[0].attributes.sconsrules_source_spec.name}: fetch and unpack"


def _limits(name, max_bytes, max_entries, max_ratio):
    values = {}
    for key, value in (("max_bytes", max_bytes), ("max_entries", max_entries), ("max_ratio", max_ratio)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise RuleError(RULE, name, f"{key} must be a positive whole number, not {value!r}")
        values[key] = value
    return Limits(**values)


def declare_archive(env, name, urls, sha256, strip_prefix, max_bytes=None, max_entries=None, max_ratio=None):
    """Check the declaration; return the stamp node whose build leaves the unpacked tree beside it."""
    import SCons.Action
    import SCons.Builder

    check_name(RULE, name)
    if isinstance(urls, str):
        urls = [urls]
    if not urls or not all(isinstance(u, str) and u.split(":", 1)[0] in ("http", "https", "file") for u in urls):
        raise RuleError(RULE, name, f"urls must be a list of http://, https:// or file:// URLs, not {urls!r}")
    if not isinstance(sha256, str) or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise RuleError(RULE, name, "sha256 must be the archive's 64-hex-digit SHA-256", "sha256sum FILE")
    if not isinstance(strip_prefix, str) or strip_prefix.startswith("/") or ".." in strip_prefix.split("/"):
        raise RuleError(RULE, name, f"strip_prefix must be a relative directory, not {strip_prefix!r}")
    spec = SourceSpec(name, tuple(urls), sha256.lower(), strip_prefix.strip("/"),
                      _limits(name, max_bytes, max_entries, max_ratio))
    from .context import CONTEXT
    dest = os.path.join(CONTEXT.build_dir(env), "_src", f"{name}-{spec.sha256[:12]}")
    if dest not in _declared:
        builder = SCons.Builder.Builder(action=SCons.Action.Action(_materialize, _show,
                                                                   varlist=["SCONSRULES_SOURCE_SIG"]))
        node = builder(env, dest + ".stamp", [], SCONSRULES_SOURCE_SIG=repr(attrs.astuple(spec)[2:]))[0]
        node.attributes.sconsrules_source_spec = spec
        node.attributes.sconsrules_source_dir = dest
        _declared[dest] = node
        CONTEXT.rebuild_if_modified(env, [node], [node.abspath], [dest])
    return _declared[dest]


_declared = {}  # one node per (name, sha256): the same archive declared twice is fetched once
