"""The work of a Release: deterministic archives of verified binaries, and the checksums over them.

An archive's bytes depend only on its members' bytes and names and on the epoch: entries sorted, one top
directory, every mtime the epoch, uid/gid 0 without names, modes 0755 (executables and directories) or 0644,
ustar format, and a gzip header without name or time. Each binary is verified again with its own policy just
before it is packed: what goes into a release is what was verified, not whatever sits at the path now.
"""
import gzip
import io
import json
import os
import tarfile

from ..errors import RuleError
from ..verify import verify_file
from ..verify.manifest import BadManifest
from ..verify.manifest import read as read_manifest
from ..verify.sbom import cyclonedx, spdx
from .run import write_atomic
from .tree import file_sha256

RULE = "Release"


def _info(name, epoch, mode, size=0, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.mtime, info.mode, info.size, info.type = epoch, mode, size, kind
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _verified(label, name, path, policy):
    report = verify_file(path, policy)
    if not report.ok:
        first = report.failures[0]
        raise RuleError(RULE, label, f"{name}: verify failed: {first.check}: {first.reason}",
                        "the binary changed since it was built: build it again")
    return report


def pack(label, out, top, members, epoch):
    """Write the archive `out`: `members` are (name inside `top`, path, policy or None to copy as it is)."""
    for name, path, policy in members:
        if policy is not None:
            _verified(label, name, path, policy)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_info(top + "/", epoch, 0o755, kind=tarfile.DIRTYPE))
        for name, path, policy in sorted(members):
            mode = 0o755 if policy is not None or os.access(path, os.X_OK) else 0o644
            with open(path, "rb") as fh:
                tar.addfile(_info(f"{top}/{name}", epoch, mode, os.fstat(fh.fileno()).st_size), fh)
    with open(out, "wb") as fh:
        fh.write(gzip_fixed(raw.getvalue()))


def gzip_fixed(data: bytes) -> bytes:
    """`data` gzip'd with a header that holds no name and no time (level 9): the same bytes everywhere."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def copy(source, out):
    """An OCI layout into the release directory (SHA256SUMS names files beside it)."""
    with open(source, "rb") as fh:
        write_atomic(out, fh.read())


def refuse(label, cause, hint):
    """A release step that cannot run: its cause, at build time."""
    raise RuleError(RULE, label, cause, hint)


def checksums(out, archives):
    """SHA256SUMS in the format `sha256sum -c` reads: one `<hex>  <name>` line per archive, sorted by name."""
    lines = []
    for path in sorted(archives, key=os.path.basename):
        lines.append(f"{file_sha256(path)}  {os.path.basename(path)}\n")
    write_atomic(out, "".join(lines))


def sbom(label, name, path, policy, form, epoch, out):
    """The SBOM (`form` "cyclonedx" or "spdx") of the verified binary at `path`, from its Go build info and
    dependency manifest; `epoch` is SPDX's creation time."""
    report = _verified(label, name, path, policy)
    try:
        deps = read_manifest(path)
    except BadManifest as exc:
        raise RuleError(RULE, label, f"{name}: its dependency manifest is unreadable: {exc}") from None
    with open(path, "rb") as fh:
        data = fh.read()
    go = report.summary.get("go")
    document = cyclonedx(name, data, go, deps) if form == "cyclonedx" else spdx(name, data, go, deps, epoch)
    write_atomic(out, json.dumps(document, indent=1, sort_keys=True) + "\n")
