"""Making a binary's dependency manifest (verify/manifest.py has the format): the record, from the components
its cdeps carry and the files they name (digested now), as a C object the toolchain compiles, linked by cgo.
"""
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile

from ..actions import Command
from ..errors import RuleError
from ..verify.manifest import SECTION, encode
from .run import write_atomic
from .tree import file_sha256


def _sources_digest(paths, base):
    return _listing_digest({os.path.relpath(p, base): file_sha256(p) for p in paths})


def _listing_digest(hashes):
    """The digest of a `sha256sum`-style listing of {relative path: sha256}, sorted."""
    lines = sorted(f"{digest}  {rel}\n" for rel, digest in hashes.items())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _library(component, root):
    entry = {"kind": component.kind, "name": component.name}
    for key, value in component.facts:
        entry[key] = list(value) if isinstance(value, tuple) else value
    if component.files:
        base = os.path.commonpath(list(component.files)) if component.kind == "ForeignCLib" else root
        entry["sources_sha256"] = _sources_digest(component.files, base if os.path.isdir(base) else root)
    if component.archives_in:
        version = _modversion(component)
        if version:
            entry["version"] = version
        found = []
        for top, _, names in os.walk(component.archives_in):
            found += [os.path.join(top, n) for n in names if n.endswith(".a")]
        entry["archives"] = sorted(({"name": os.path.basename(p), "sha256": file_sha256(p)} for p in found),
                                   key=lambda a: (a["name"], a["sha256"]))
    return entry


def _modversion(component):
    """The version pkg-config gave for a PkgConfigCLib's module (its resolve step writes it), or None."""
    try:
        with open(os.path.join(component.archives_in, "modversion.txt"), "rb") as fh:
            text = fh.read(200).decode("utf-8", "replace").strip()
    except OSError:
        return None
    return text if re.fullmatch(r"[0-9A-Za-z.+_~:-]{1,64}", text) else None


# C libraries Go modules carry as source (an amalgamation compiled by cgo): how to read their version, and
# their license as the SPDX list names it.
EMBEDDED = (
    ("sqlite", "blessing", re.compile(rb'^#define SQLITE_VERSION +"([0-9][0-9.]*)"', re.M)),
    ("zstd", "BSD-3-Clause OR GPL-2.0-only", re.compile(rb"^#define ZSTD_VERSION_MAJOR +(\d+)\s+#define ZSTD_VERSION_MINOR +(\d+)\s+"
                        rb"#define ZSTD_VERSION_RELEASE +(\d+)", re.M)),
)
SCAN_BYTES = 4 << 20


def _embedded(path):
    """[(library, version, license)] that the C file at `path` is the source of, read from its version macros."""
    with open(path, "rb") as fh:
        head = fh.read(SCAN_BYTES)
    return [(name, ".".join(g.decode() for g in found.groups()), license) for name, license, pattern in EMBEDDED
            for found in [pattern.search(head)] if found]


def _module_root(directory, module):
    """The module's root above a package `directory` (a module cache path ends in path@version)."""
    mark = module.rsplit("/", 1)[-1]
    path = directory
    while path and os.path.basename(path) != mark and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path if os.path.basename(path) == mark else directory


def _modules(found):
    """Records of the C that required modules compile (their cgo files) or link (archives in the module), one per
    module: files as paths in the module, digested, and the C libraries recognised in them."""
    by_module: dict = {}
    for _, module, directory, names in found:
        root = _module_root(directory, module)
        files = by_module.setdefault(module, {})
        for name in names:
            path = os.path.normpath(os.path.join(directory, name))
            if os.path.isfile(path) and os.path.commonpath([path, root]) == root:
                files[os.path.relpath(path, root)] = path
    records = []
    for module, files in sorted(by_module.items()):
        path, _, version = module.rpartition("@")
        hashes = {rel: file_sha256(full) for rel, full in files.items()}  # each file read once (sqlite's is 9 MB)
        entry = {"module": path, "version": version, "sources_sha256": _listing_digest(hashes) if files else None}
        archives, embedded = [], []
        for rel, full in sorted(files.items()):
            if rel.endswith((".a", ".o")):
                archives.append({"path": rel, "sha256": hashes[rel]})
            elif rel.endswith((".c", ".h", ".cc", ".cpp", ".cxx")):
                for library, lib_version, license in _embedded(full):
                    if any(e["name"] == library and e["version"] == lib_version for e in embedded):
                        continue  # its header says the same as its .c (sorted first)
                    embedded.append({"name": library, "version": lib_version, "license": license, "file": rel,
                                     "sha256": hashes[rel]})
        if archives:
            entry["archives"] = archives
        if embedded:
            entry["embedded"] = embedded
        records.append({k: v for k, v in entry.items() if v is not None})
    return records


def record(components, facts, root, modules=()):
    result = dict(dict(facts), libraries=[_library(c, root) for c in components])
    if modules:
        result["go_modules_c"] = _modules(modules)
    return result


def c_source(data: bytes) -> str:
    body = ",".join(str(b) for b in data)
    return (f'__attribute__((section("{SECTION}"), used, retain, aligned(1)))\n'
            f"static const unsigned char sconsrules_deps[{len(data)}] = {{{body}}};\n")


def compile_object(components, facts, root, cc, out, *, modules=(), run, who):
    """Write the manifest's object at `out` for the link; `modules` are the cgo files of required modules
    (execute/golinks.py:module_c_files).

    The toolchain compiles one template per configuration and size class (execute/manifest.py:_template), an
    array of that many filler bytes in the section; each binary's object is the template with the array's
    bytes replaced by its manifest, zero-padded (the reader strips the padding). So the compiler, not this
    module, makes the object the linker accepts on every architecture, and a link needs no C compile of its
    own: 20 binaries, one compile."""
    data = encode(record(components, facts, root, modules))
    size = max(MIN_SIZE, 1 << (len(data) - 1).bit_length())
    body, offset = _template(cc, size, root, os.path.join(os.path.dirname(out), "_objs"), run, who)
    write_atomic(out, body[:offset] + data.ljust(size, b"\0") + body[offset + size:])


MIN_SIZE = 1024  # size classes: powers of two from here (a manifest is 1-3 KB compressed)
FILL = b"\xa5"
KEY_SUFFIX = ".key"


def _template(cc, size, root, objs, run, who):
    """(bytes, offset of the array) of the template object for `size`, compiled with `cc` on first use. It is
    kept beside the objects with its key (compiler command, size, project root), digest and offset, and used
    again only when all three match; the key lives in the build directory, like SCons's signatures and the
    verdicts, and adds no party to trust."""
    path = os.path.join(objs, f".sconsrules-manifest-{size}.o")
    key = hashlib.sha256(json.dumps([list(cc), size, root]).encode()).hexdigest()
    kept = _kept(path, key, size)
    if kept is not None:
        return kept
    os.makedirs(objs, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".manifest-", dir=objs)  # steps of one configuration may make it at once
    try:
        source, obj = os.path.join(work, f"manifest-{size}.c"), os.path.join(work, "manifest.o")
        with open(source, "w") as fh:
            fh.write(c_source(FILL * size))
        # Debug info names the source where the template is kept, relative to the project (the last map wins).
        code, output = run(Command(list(cc) + ["-Wno-unknown-attributes", "-Wno-attributes",
                                               f"-ffile-prefix-map={root}=.",
                                               f"-ffile-prefix-map={work}={os.path.relpath(objs, root)}",
                                               "-c", source, "-o", obj]))
        if code != 0:
            raise RuleError(*who, f"compiling the dependency manifest failed (exit {code}): {output.strip()[-300:]}")
        with open(obj, "rb") as fh:
            body = fh.read()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    offset = _array_offset(body, size)
    if offset is None:
        raise RuleError(*who, f"the compiler's manifest object has no {SECTION} section of {size} filler bytes",
                        "a C compiler that honours __attribute__((section, used)) is needed")
    write_atomic(path, body)
    write_atomic(path + KEY_SUFFIX, f"{key} {hashlib.sha256(body).hexdigest()} {offset}\n")
    return body, offset


def _array_offset(body, size):
    """Where the section's bytes are in the object, when it holds exactly the array of filler bytes."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        section = ELFFile(io.BytesIO(body)).get_section_by_name(SECTION)
    except ELFError:
        return None
    if section is None or section["sh_size"] != size or section["sh_type"] != "SHT_PROGBITS":
        return None
    offset = section["sh_offset"]
    return offset if body[offset:offset + size] == FILL * size else None


def _kept(path, key, size):
    """(bytes, offset) of the kept template when its key file names `key`, its digest and a valid offset."""
    try:
        if not (stat.S_ISREG(os.lstat(path).st_mode) and stat.S_ISREG(os.lstat(path + KEY_SUFFIX).st_mode)):
            return None
        with open(path + KEY_SUFFIX, "rb") as fh:
            fields = fh.read(200).decode("ascii", "replace").split()
        with open(path, "rb") as fh:
            body = fh.read(1 << 20)
    except OSError:
        return None
    if len(fields) != 3 or fields[:2] != [key, hashlib.sha256(body).hexdigest()] or not fields[2].isdigit():
        return None
    offset = int(fields[2])
    return (body, offset) if body[offset:offset + size] == FILL * size else None
