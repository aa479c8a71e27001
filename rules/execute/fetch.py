"""Fetching and unpacking a SourceArchive: the work of its step (a Call the native executor runs).

The store is keyed by sha256, so a later build with the same sha256 never touches the network. Pre-fetched
files (--distdir) are tried first, then the mirrors in order (http, https, file); a download whose digest
differs is refused and nothing is unpacked. Unpacking goes through tree.TreeWriter, which never writes through
a link and refuses absolute or `..` paths, device files, FIFOs, links that leave the tree, and archives over
their limits (bytes, entries, ratio).
"""
import hashlib
import lzma
import os
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

from ..errors import RuleError
from .run import TMP_MARK, run_tmp
from .tree import TreeWriter, UnsafeTree, file_sha256, read_chunks, remove

RULE = "SourceArchive"
CHUNK = 1 << 20


def store_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sconsrules", "archives")


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


def materialize(spec, dest):
    """The step's work: the archive from a distdir or a mirror, checked, unpacked into `dest`."""
    unpack(spec, fetch(spec, configured_distdirs()), dest)
