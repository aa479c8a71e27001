"""Split debug files: a stripped binary plus `<binary>.debug`, both the same bytes on every machine.

An unstripped zig link carries DWARF that names zig's lib dir, zig's cache and the working directory of
whichever link first compiled musl (and compiler-rt, libc++) into that cache. A split-debug link therefore runs
with zig's lib dir and cache under one tool-owned directory of a fixed length (configure/toolchains/zig.py),
whose cache a warm-up link run from inside that directory fills first (`warm`); the objects it made then have
that directory's bytes replaced by a canonical path of the same length (no offset moves, so no DWARF is
re-encoded), before any real link merges their strings. cgo's own compiles map the directory with
-ffile-prefix-map. After the link, `split` sets the GNU build ID to a hash of the file (the linker's own would
hash its inputs' paths), verifies the whole binary, DWARF included, and writes the two files. Debian's
debugedit rejects zig's DWARF 5 line tables and zig 0.17's objcopy answers "unimplemented" on these files, so
the ELF surgery is done here, for ELF64 little-endian (amd64, arm64).
"""
import fcntl
import hashlib
import os
import struct
import zlib

from ..actions.commands import DEBUG_BUILD_ID_SIZE as BUILD_ID_SIZE
from ..errors import RuleError
from .run import write_atomic

SHF_ALLOC = 0x2
SHF_INFO_LINK = 0x40
SHT_NOBITS = 8
SHT_NOTE = 7
SHT_PROGBITS = 1
NT_GNU_BUILD_ID = 3
_SHDR = struct.Struct("<IIQQQQIIQQ")

WARM_GO = 'package main\n\n// int sconsrules_warm(void) { return 0; }\nimport "C"\n\nfunc main() { _ = C.sconsrules_warm() }\n'
WARM_CXX = 'extern "C" int sconsrules_warm_cxx() { try { throw 1; } catch (int) { return 0; } }\n'


def link_lib_dir(directory, lib):
    """`directory`/lib is a symlink to zig's own lib dir: zig keeps the path it is given (ZIG_LIB_DIR)."""
    os.makedirs(directory, exist_ok=True)
    link = os.path.join(directory, "lib")
    if os.path.islink(link) and os.readlink(link) == lib:
        return
    tmp = f"{link}.{os.getpid()}"
    os.symlink(lib, tmp)
    os.replace(tmp, link)


def canonicalize(cache, old, new):
    """Every object and archive in zig's cache with `old` (the fixed-length directory) replaced by `new` (the
    canonical one, the same length): no offset moves. zig's manifests keep the real paths, so it still finds
    them. lld lays merged debug strings out by their hash, so the path must be canonical before the link."""
    old, new = old.encode(), new.encode()
    for root, _, files in os.walk(cache):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                data = fh.read()
            if not data.startswith((b"\x7fELF", b"!<arch>\n")) or old not in data:
                continue
            mode = os.stat(path).st_mode & 0o777
            write_atomic(path, data.replace(old, new))
            os.chmod(path, mode)


def warm(directory, canonical, lib, mark, build, cxx, *, run, who):
    """Fill zig's debug cache for one target by linking a tiny cgo program from inside `directory`, once
    (`mark`, named after zig's version, says it was done), and make its objects name `canonical` instead:
    musl's objects would otherwise name the checkout of whichever link came first, and zig's lib dir."""
    link_lib_dir(directory, lib)
    if os.path.exists(mark):
        return
    os.makedirs(build.cwd, exist_ok=True)
    with open(build.cwd + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(mark):
            return
        write_atomic(os.path.join(build.cwd, "go.mod"), "module sconsrules.invalid/warm\n\ngo 1.21\n")
        write_atomic(os.path.join(build.cwd, "main.go"), WARM_GO)
        if cxx:
            write_atomic(os.path.join(build.cwd, "warm.cc"), WARM_CXX)
        code, output = run(build)
        if code != 0:
            raise RuleError(*who, f"warming zig's debug libc in {build.cwd} failed (exit {code}): "
                                  f"{output.strip()[-300:]}")
        canonicalize(os.path.join(directory, "cache"), directory, canonical)
        write_atomic(mark, "warm\n")


class Elf:
    """The section headers of an ELF64 little-endian file held in memory."""

    def __init__(self, data, what):
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError(f"{what} is not an ELF64 little-endian file")
        self.data = data
        (self.shoff,) = struct.unpack_from("<Q", data, 0x28)
        self.shentsize, self.shnum, self.shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        if self.shentsize != _SHDR.size or self.shoff + self.shnum * _SHDR.size > len(data):
            raise ValueError(f"{what} has a malformed section header table")
        self.headers = [list(_SHDR.unpack_from(data, self.shoff + i * _SHDR.size)) for i in range(self.shnum)]
        names = self.headers[self.shstrndx]
        self.strtab = bytes(data[names[4]:names[4] + names[5]])

    def name(self, header):
        return self.strtab[header[0]:self.strtab.index(b"\0", header[0])].decode("latin-1")

    def sections(self):
        return [(self.name(h), h) for h in self.headers]

    def content(self, header):
        return self.data[header[4]:header[4] + header[5]]


def _is_debug(name):
    return name.startswith((".debug_", ".zdebug_")) or name in (".symtab", ".strtab")


def set_build_id(data, what):
    """The GNU build ID: sha1 of the file with the ID's bytes zeroed, written into the note; returned in hex."""
    elf = Elf(data, what)
    for name, h in elf.sections():
        if h[1] != SHT_NOTE or name != ".note.gnu.build-id":
            continue
        namesz, descsz, kind = struct.unpack_from("<III", data, h[4])
        desc = h[4] + 12 + ((namesz + 3) & ~3)
        if kind != NT_GNU_BUILD_ID or descsz != BUILD_ID_SIZE:
            raise ValueError(f"{what}: the build ID note holds {descsz} bytes, not {BUILD_ID_SIZE} (link with -Wl,--build-id=0x<40 zeros>)")
        data[desc:desc + descsz] = bytes(descsz)
        digest = hashlib.sha1(bytes(data)).digest()
        data[desc:desc + descsz] = digest
        return digest.hex()
    raise ValueError(f"{what} has no .note.gnu.build-id section")


def _align(out, alignment):
    out.extend(bytes(-len(out) % max(alignment, 1)))


def _finish(out, elf, headers, strtab_index, phnum=None):
    """Section headers appended to `out`, and the ELF header pointed at them."""
    _align(out, 8)
    shoff = len(out)
    for h in headers:
        out.extend(_SHDR.pack(*h))
    struct.pack_into("<Q", out, 0x28, shoff)
    struct.pack_into("<HH", out, 0x3C, len(headers), strtab_index)
    if phnum is not None:
        struct.pack_into("<Q", out, 0x20, 0)
        struct.pack_into("<H", out, 0x38, phnum)
    return bytes(out)


def debug_file(data, what):
    """What `objcopy --only-keep-debug` makes: every section header kept at its address, allocated contents
    dropped (SHT_NOBITS) except notes (the build ID), debug sections and the symbol table kept."""
    elf = Elf(data, what)
    out = bytearray(data[:64])
    headers = []
    for index, h in enumerate(elf.headers):
        h = list(h)
        keep = index != 0 and (h[1] == SHT_NOTE or not h[2] & SHF_ALLOC) and h[1] != SHT_NOBITS
        if keep:
            _align(out, h[8])
            content = elf.content(h)
            h[4] = len(out)
            out.extend(content)
        elif index != 0:
            h[1], h[4] = SHT_NOBITS, len(out)
        headers.append(h)
    return _finish(out, elf, headers, elf.shstrndx, phnum=0)


def stripped_file(data, debug_name, crc, what):
    """What `objcopy --strip-all --add-gnu-debuglink` makes: the loaded bytes as they are, the symbol table
    and debug sections gone, a .gnu_debuglink (file name, CRC32 of the debug file) added."""
    elf = Elf(data, what)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = phoff + phentsize * phnum
    for i in range(phnum):
        offset, filesz = struct.unpack_from("<QxxxxxxxxxxxxxxxxQ", data, phoff + i * phentsize + 8)
        end = max(end, offset + filesz)
    kept = [(i, n, list(h)) for i, (n, h) in enumerate(elf.sections()) if i == 0 or not _is_debug(n)]
    for _, _, h in kept:
        if h[2] & SHF_ALLOC or h[1] == SHT_NOBITS:
            end = max(end, h[4] + (0 if h[1] == SHT_NOBITS else h[5]))
    out = bytearray(data[:end])
    new_index = {old: new for new, (old, _, _) in enumerate(kept)}
    names = bytearray(b"\0")
    headers = []
    for old, name, h in kept:
        if old and name != ".shstrtab" and not h[2] & SHF_ALLOC and h[1] != SHT_NOBITS:
            _align(out, h[8])
            content = elf.content(h)
            h[4] = len(out)
            out.extend(content)
        h[6] = new_index.get(h[6], 0)
        if h[2] & SHF_INFO_LINK:
            h[7] = new_index.get(h[7], 0)
        if old:
            h[0] = len(names)
            names += name.encode() + b"\0"
        headers.append(h)
    link = debug_name.encode() + b"\0"
    link += bytes(-len(link) % 4) + struct.pack("<I", crc)
    _align(out, 4)
    headers.append([len(names), SHT_PROGBITS, 0, 0, len(out), len(link), 0, 0, 4, 0])
    names += b".gnu_debuglink\0"
    out.extend(link)
    shstrndx = new_index[elf.shstrndx]
    headers[shstrndx][0] = names.index(b".shstrtab\0")
    headers[shstrndx][4], headers[shstrndx][5] = len(out), len(names)
    out.extend(names)
    return _finish(out, elf, headers, shstrndx)


def _section(elf, name):
    found = [h for n, h in elf.sections() if n == name and h[1] != SHT_NOBITS]
    return bytes(elf.content(found[0])) if found else None


def check_pair(binary, debug, link_name, policy, who):
    """A split-debug pair that came from the output cache: the binary's .gnu_debuglink names `link_name` with the
    debug file's CRC32, both carry the same build ID, and the debug file's DWARF names no path the policy
    forbids. (A fresh pair was verified whole before it was split.)"""
    from ..verify import MalformedInput
    from ..verify.checks import leak_failures
    from ..verify.elf import read_elf
    with open(binary, "rb") as fh:
        data = fh.read()
    with open(debug, "rb") as fh:
        debug_data = fh.read()
    try:
        stripped, moved = Elf(data, link_name), Elf(debug_data, link_name)
        link = _section(stripped, ".gnu_debuglink") or b""
        name = link[:link.find(b"\0")] if b"\0" in link else b""
        if name != link_name.encode() or len(link) < 4 or struct.unpack("<I", link[-4:])[0] != zlib.crc32(debug_data):
            raise ValueError("the binary's .gnu_debuglink does not name this debug file (name or CRC32)")
        ids = [_section(e, ".note.gnu.build-id") for e in (stripped, moved)]
        if not ids[0] or ids[0] != ids[1]:
            raise ValueError("the binary and the debug file carry different build IDs")
        failures = leak_failures(read_elf(debug_data), policy)
    except (ValueError, MalformedInput) as exc:
        raise RuleError(*who, f"its debug file: {exc}") from None
    if failures:
        raise RuleError(*who, f"its debug file: {failures[0].check}: {failures[0].reason}: {failures[0].evidence}")


def split(path, debug_path, link_name, cache, policy, *, run, who):
    """The linked, unstripped binary at `path` given its build ID and verified (its DWARF too), then split:
    stripped at `path`, its debug sections at `debug_path`, which its .gnu_debuglink names `link_name`.
    `cache` is zig's debug cache (None without one), named in the hint when the DWARF names it."""
    from ..verify.checks import verify_bytes
    what = link_name
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    try:
        set_build_id(data, what)
        report = verify_bytes(path, bytes(data), policy)
        if not report.ok:
            first = report.failures[0]
            stale = cache and first.check == "leaks.dwarf" and os.path.dirname(cache) in first.evidence
            raise RuleError(*who, f"verify failed for its debug info: {first.check}: {first.reason}: {first.evidence}",
                            f"zig's debug cache holds objects a link other than the warm-up made: remove {cache}"
                            if stale else "debug info may name only relative paths and the canonical ones "
                                          "(README, split debug files)")
        debug = debug_file(data, what)
        stripped = stripped_file(data, link_name, zlib.crc32(debug), what)
    except ValueError as exc:
        raise RuleError(*who, f"splitting its debug info: {exc}") from None
    with open(debug_path, "wb") as fh:
        fh.write(debug)
    with open(path, "wb") as fh:
        fh.write(stripped)
    os.chmod(path, 0o755)
