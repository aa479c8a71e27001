"""Facts read from one ELF image with pyelftools: identity, link type, libc markers, symbols, hardening.

Reading is separate from judging (checks.py) so the same facts serve the build, the command line and
the JSON report. Any malformation surfaces as MalformedInput, never as a pyelftools traceback.
"""
import io
import re
import struct
import zlib

from typing import Pattern, Tuple

import attrs
from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE, ENUM_E_TYPE
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import NoteSection, SymbolTableSection

from .gobuildinfo import MAGIC, find_blob, parse_blob

from .errors import MalformedInput

ELF_MAGIC = b"\x7fELF"
DF_1_PIE = 0x08000000

GLIBC_STRINGS = (b"GLIBC_TUNABLES", b"Fatal glibc error", b"/etc/ld.so.cache")
GLIBC_SYMBOLS = ("__libc_setup_tls", "_dl_relocate_static_pie", "__tunables_init")
MUSL_STRINGS = (b"No error information",)
MUSL_SYMBOLS = ("__init_libc", "__init_tls", "__copy_tls", "__libc_start_init")
MARKER_SYMBOLS = GLIBC_SYMBOLS + MUSL_SYMBOLS
NSS_STRING = b"/etc/nsswitch.conf"
# The first instructions at the entry point: libc's `_start`, written in assembly, so the same bytes whatever
# compiled the rest (checked: musl-gcc and zig, static and static-pie; glibc 2.36 with and without CET).
# Operands that the linker fills in are wildcards. They tell the libc when every symbol and string is
# stripped, and the real machine when e_machine lies.
ENTRY_CODE: Tuple[Tuple[str, str, Pattern[bytes]], ...] = (
    ("EM_X86_64", "musl", re.compile(rb"\x48\x31\xed\x48\x89\xe7\x48\x8d\x35....\x48\x83\xe4\xf0\xe8", re.S)),
    ("EM_X86_64", "glibc", re.compile(rb"(?:\xf3\x0f\x1e\xfa)?\x31\xed\x49\x89\xd1\x5e\x48\x89\xe2\x48\x83\xe4\xf0",
                                      re.S)),
    # mov x29,#0; mov x30,#0; mov x0,sp; adrp x1,_DYNAMIC; add x1,x1,:lo12:_DYNAMIC; and sp,x0,#-16; b _start_c
    ("EM_AARCH64", "musl", re.compile(rb"\x1d\x00\x80\xd2\x1e\x00\x80\xd2\xe0\x03\x00\x91...[\x90\xb0\xd0\xf0]"
                                      rb"\x21..\x91\x1f\xec\x7c\x92...[\x14-\x17]", re.S)),
    # [bti c | nop;] mov x29,#0; mov x30,#0; mov x5,x0; ldr x1,[sp]; add x2,sp,#8; mov x6,sp (glibc's start.S;
    # checked on Debian's aarch64 crt1.o, Scrt1.o and rcrt1.o of glibc 2.36)
    ("EM_AARCH64", "glibc", re.compile(rb"(?:\x5f\x24\x03\xd5|\x1f\x20\x03\xd5)?\x1d\x00\x80\xd2\x1e\x00\x80\xd2\xe5\x03\x00\xaa"
                                       rb"\xe1\x03\x40\xf9\xe2\x23\x00\x91\xe6\x03\x00\x91", re.S)),
)
# musl's _start for the other architectures (arch/*/crt_arch.h), as zig links it:
MUSL_START = {
    # xor %ebp,%ebp; mov %esp,%eax; and $-16,%esp; push %eax; push %eax; call 1f; 1: addl $_DYNAMIC-1b,(%esp);
    # push %eax; call _start_c
    "EM_386": rb"\x31\xed\x89\xe0\x83\xe4\xf0\x50\x50\xe8\x00\x00\x00\x00\x81\x04\x24....\x50\xe8",
    # mov fp,#0; mov lr,#0; ldr a2,1f; add a2,pc,a2; mov a1,sp; bic ip,a1,#15; mov sp,ip; bl _start_c
    "EM_ARM": rb"\x00\xb0\xa0\xe3\x00\xe0\xa0\xe3..\x9f\xe5\x01\x10\x8f\xe0\x0d\x00\xa0\xe1\x0f\xc0\xc0\xe3"
              rb"\x0c\xd0\xa0\xe1...\xeb",
    # lla gp,__global_pointer$; [li s0,0; li ra,0;] mv a0,sp; lla a1,_DYNAMIC; andi sp,sp,-16
    "EM_RISCV": rb"\x97...\x93\x81..(?:\x01\x44\x81\x40)?\x0a\x85\x97...\x93\x85..\x13\x71\x01\xff",
    # addis 2,12,.TOC.@ha; addi 2,2,.TOC.@l; ld 4,..(12); add 4,4,12; mr 3,1; clrrdi 1,1,4; li 0,0; stdu 0,-32(1)
    "EM_PPC64": rb"..\x4c\x3c..\x42\x38..\x8c[\x80\xe8]\x14\x62\x84\x7c\x78\x0b\x23\x7c\xe4\x06\x21\x78"
                rb"\x00\x00\x00\x38\xe1\xff\x01\xf8",
    # lgr %r2,%r15; larl %r3,1f; agf %r3,0(%r3); aghi %r15,-160; lghi %r0,0; stg %r0,0(%r15); jg _start_c
    "EM_S390": rb"\xb9\x04\x00\x2f\xc0\x30....\xe3\x30\x30\x00\x00\x18\xa7\xfb\xff\x60\xa7\x09\x00\x00"
               rb"\xe3\x00\xf0\x00\x00\x24\xc0\xf4",
}
ENTRY_CODE += tuple((machine, "musl", re.compile(pattern, re.S)) for machine, pattern in MUSL_START.items())
RELATIVE_RELOCS = {"EM_X86_64": (8,), "EM_AARCH64": (1027,)}  # R_X86_64_RELATIVE, R_AARCH64_RELATIVE


@attrs.frozen
class ElfFacts:
    elf_class: int
    little_endian: bool
    machine: str
    elf_type: str
    osabi: str
    interpreter: str
    has_dynamic: bool
    needed: tuple
    pie_flag: bool
    sections: tuple
    symbols: frozenset
    undefined: frozenset
    notes: tuple  # (name, type) pairs
    gnu_stack: str  # "absent", "rw", or "rwx"
    wx_segments: int
    glibc_evidence: tuple
    musl_evidence: tuple
    nss_evidence: tuple
    dynamic_reloc_types: tuple  # (type number, count) of the relocations applied at start-up
    entry_code: tuple  # (machine, libc) whose `_start` the entry point's code is
    program_headers: int
    go_buildinfo: object  # GoBuildInfo or None
    debug_data: bytes = attrs.field(repr=False)  # all DWARF, decompressed
    debug_paths: tuple  # absolute paths the DWARF names as directories and files (executables only)
    other_data: bytes = attrs.field(repr=False)  # the file without its debug sections

    @property
    def link_type(self):
        if self.interpreter or self.needed:
            return "dynamic"
        if not self.has_dynamic:
            return "static" if self.elf_type in ("ET_EXEC", "ET_DYN", "ET_REL") else "unknown"
        if self.elf_type == "ET_DYN" and self.pie_flag:
            return "static-pie"
        return "shared-object" if self.elf_type == "ET_DYN" else "dynamic"

    @property
    def libc(self):
        if self.glibc_evidence:
            return "glibc"
        if self.musl_evidence:
            return "musl"
        return "unknown"

    @property
    def stripped(self):
        return not any(name == ".symtab" or name.startswith((".debug_", ".zdebug_")) for name in self.sections)


@attrs.frozen
class ElfHeader:
    elf_class: int
    little_endian: bool
    machine: str
    elf_type: str
    entry: int
    program_headers: int
    section_offset: int
    section_entry_size: int
    sections: int

    @property
    def order(self):
        return "<" if self.little_endian else ">"


def read_header(data):
    """Just the ELF header: enough to judge an object file's identity without parsing it whole."""
    if not data.startswith(ELF_MAGIC) or len(data) < 52 or data[4] not in (1, 2) or data[5] not in (1, 2):
        raise MalformedInput("not an ELF file (bad header)")
    order = "<" if data[5] == 1 else ">"
    e_type, e_machine = struct.unpack(order + "HH", data[16:20])
    if data[4] == 2:
        if len(data) < 64:
            raise MalformedInput("not an ELF file (truncated header)")
        entry, shoff = struct.unpack(order + "Q8xQ", data[24:48])
        phnum, shentsize, shnum = struct.unpack(order + "H HH", data[56:62])
    else:
        entry, shoff = struct.unpack(order + "I4xI", data[24:36])
        phnum, shentsize, shnum = struct.unpack(order + "H HH", data[44:50])
    return ElfHeader(32 if data[4] == 1 else 64, data[5] == 1, _MACHINES.get(e_machine, f"EM_{e_machine}"),
                     _TYPES.get(e_type, f"ET_{e_type}"), entry, phnum, shoff, shentsize, shnum)


@attrs.frozen
class ObjectFacts:
    """What the archive checks judge of a relocatable member, read with struct alone (an archive of 1,000 members
    is read in a build's every link; pyelftools takes milliseconds per member, this tens of microseconds)."""
    elf_class: int
    little_endian: bool
    machine: str
    elf_type: str
    program_headers: int
    symbols: frozenset  # named symbols defined here (any section index but SHN_UNDEF), as pyelftools lists them
    undefined: frozenset


def read_object(data):
    """ObjectFacts of a relocatable object with no program headers; anything else gets the full ElfFacts."""
    header = read_header(data)
    if header.elf_type != "ET_REL" or header.program_headers:
        return read_elf(data)
    defined, undefined = object_symbols(data, header)
    return ObjectFacts(header.elf_class, header.little_endian, header.machine, header.elf_type,
                       header.program_headers, defined, undefined)


def undefined_symbols(data, header=None):
    """The undefined symbol names of a relocatable object, read with struct alone (fast: one per compile)."""
    return object_symbols(data, header)[1]


def object_symbols(data, header=None):
    """(defined, undefined) symbol names of a relocatable object's symbol tables, read with struct alone."""
    h = header or read_header(data)
    order, wide = h.order, h.elf_class == 64
    shdr = struct.Struct(order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
    sym = struct.Struct(order + ("IBBHQQ" if wide else "IIIBBH"))
    if h.sections and h.section_entry_size < shdr.size:
        raise MalformedInput("malformed ELF: section header entries too small")
    sections = []
    for i in range(h.sections):
        start = h.section_offset + i * h.section_entry_size
        if start + shdr.size > len(data):
            raise MalformedInput("malformed ELF: section headers run past the end")
        sections.append(shdr.unpack_from(data, start))
    names, defined = set(), set()
    for fields in sections:
        if fields[1] not in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            continue
        offset, size, link, entsize = fields[4], fields[5], fields[6], fields[9]
        if link >= len(sections) or entsize < sym.size or offset + size > len(data):
            raise MalformedInput("malformed ELF: bad symbol table")
        str_off, str_size = sections[link][4], sections[link][5]
        if str_off + str_size > len(data):
            raise MalformedInput("malformed ELF: bad string table")
        strtab = data[str_off:str_off + str_size]
        for pos in range(offset + entsize, offset + size - sym.size + 1, entsize):
            values = sym.unpack_from(data, pos)
            name_off, shndx = values[0], (values[3] if wide else values[5])
            if not name_off:
                continue
            if name_off >= len(strtab):
                raise MalformedInput("malformed ELF: a symbol name lies outside its string table")
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off:end if end >= 0 else None].decode("utf-8", "replace")
            (defined if shndx else names).add(name)
    return frozenset(defined), frozenset(names)


def classify_entry(code):
    """(machine, libc) pairs whose `_start` the bytes at the entry point are."""
    return tuple((machine, libc) for machine, libc, pattern in ENTRY_CODE if pattern.match(code))


_MACHINES = {v: k for k, v in ENUM_E_MACHINE.items() if isinstance(v, int)}
_TYPES = {v: k for k, v in ENUM_E_TYPE.items() if isinstance(v, int)}


def read_elf(data):
    """Parse `data` (the whole file) into ElfFacts."""
    if not data.startswith(ELF_MAGIC):
        raise MalformedInput("not an ELF file (bad magic)")
    try:
        return _read(ELFFile(io.BytesIO(data)), data)
    except (ELFError, ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError,
            OverflowError, MemoryError, RecursionError, UnicodeDecodeError, EOFError, io.UnsupportedOperation,
            zlib.error) as exc:
        raise MalformedInput(f"malformed ELF: {exc}".strip()) from None
    except Exception as exc:  # construct's own error types are not exported in one place
        if type(exc).__module__.startswith(("elftools", "construct")):
            raise MalformedInput(f"malformed ELF: {exc}".strip()) from None
        raise


def _read(elf, data):
    header = elf.header
    interpreter = ""
    has_dynamic = False
    gnu_stack = "absent"
    wx = 0
    for seg in elf.iter_segments():
        ptype = seg["p_type"]
        if ptype == "PT_INTERP":
            interpreter = seg.get_interp_name()
        elif ptype == "PT_DYNAMIC":
            has_dynamic = True
        elif ptype == "PT_GNU_STACK":
            gnu_stack = "rwx" if seg["p_flags"] & 1 else "rw"
        elif ptype == "PT_LOAD" and seg["p_flags"] & 1 and seg["p_flags"] & 2:
            wx += 1
    needed, pie = [], False
    symbols, undefined, sections, notes = set(), set(), [], []
    relocs, named, debug, debug_ranges = {}, [], [], []
    for sec in elf.iter_sections():
        sections.append(sec.name)
        if sec.name == ".go.buildinfo" and sec["sh_type"] != "SHT_NOBITS":
            named.append((sec.name, sec.data()))
        if sec.name.startswith((".debug_", ".zdebug_")) and sec["sh_type"] != "SHT_NOBITS":
            debug_ranges.append((sec["sh_offset"], sec["sh_offset"] + sec["sh_size"]))
            raw = sec.data()
            if raw.startswith(b"ZLIB") and len(raw) > 12:
                raw = zlib.decompress(raw[12:])
            debug.append(raw)
        if isinstance(sec, RelocationSection) and not sec.name.startswith((".rela.debug", ".rel.debug")):
            if elf.header["e_type"] != "ET_REL" and sec["sh_flags"] & 2:  # SHF_ALLOC: applied at run time
                for rel in sec.iter_relocations():
                    relocs[rel["r_info_type"]] = relocs.get(rel["r_info_type"], 0) + 1
        if isinstance(sec, DynamicSection):
            for tag in sec.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag == "DT_FLAGS_1" and tag.entry.d_val & DF_1_PIE:
                    pie = True
        elif isinstance(sec, SymbolTableSection) and elf.header["e_type"] != "ET_REL":
            # An executable's symbol table can hold 100k entries: look up the few names we judge by in its
            # string table instead of decoding every symbol.
            names = sec.stringtable.data()
            symbols.update(n for n in MARKER_SYMBOLS if b"\0" + n.encode() + b"\0" in names)
            symbols.update(m.decode() for m in re.findall(rb"\0(__nss_[A-Za-z0-9_]+)(?=\0)", names)[:5])
        elif isinstance(sec, SymbolTableSection):
            for sym in sec.iter_symbols():
                if not sym.name:
                    continue
                if sym["st_shndx"] == "SHN_UNDEF":
                    undefined.add(sym.name)
                else:
                    symbols.add(sym.name)
        elif isinstance(sec, NoteSection):
            for note in sec.iter_notes():
                notes.append((note["n_name"], note["n_type"]))
    osabi = header["e_ident"]["EI_OSABI"]
    glibc = [f"interpreter {interpreter}" for _ in [0] if "ld-linux" in interpreter]
    glibc += [f"NEEDED {n}" for n in needed if n.startswith("libc.so.6")]
    glibc += ["note NT_GNU_ABI_TAG" for name, typ in notes if name == "GNU" and typ == "NT_GNU_ABI_TAG"]
    if osabi == "ELFOSABI_LINUX" and elf.header["e_type"] != "ET_REL":
        glibc.append("EI_OSABI GNU/Linux (IFUNC)")
    glibc += [f"symbol {s}" for s in GLIBC_SYMBOLS if s in symbols]
    glibc += [f"string {s.decode()!r}" for s in GLIBC_STRINGS if s in data]
    musl = [f"interpreter {interpreter}" for _ in [0] if "ld-musl" in interpreter]
    musl += [f"NEEDED {n}" for n in needed if "musl" in n or n == "libc.so"]
    musl += [f"symbol {s}" for s in MUSL_SYMBOLS if s in symbols]
    musl += [f"string {s.decode()!r}" for s in MUSL_STRINGS if s in data]
    nss = sorted(s for s in symbols | undefined if s.startswith("__nss_"))[:5]
    if NSS_STRING in data:
        nss.append(f"string {NSS_STRING.decode()!r}")
    entry_code = ()
    for seg in elf.iter_segments():
        start, size = seg["p_vaddr"], seg["p_filesz"]
        if seg["p_type"] == "PT_LOAD" and start <= header["e_entry"] < start + size and header["e_entry"]:
            offset = seg["p_offset"] + header["e_entry"] - start
            entry_code = classify_entry(data[offset:offset + 64])
            break
    glibc += [f"entry point is glibc's _start ({m})" for m, libc in entry_code if libc == "glibc"]
    musl += [f"entry point is musl's _start ({m})" for m, libc in entry_code if libc == "musl"]
    writable = [seg.data() for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & 2]
    go = parse_blob(find_blob(named, writable)) if MAGIC in data else None
    other = bytearray(data)
    for start, end in debug_ranges:
        other[start:end] = bytes(max(0, min(end, len(data)) - start))
    return ElfFacts(
        elf_class=elf.elfclass,
        little_endian=elf.little_endian,
        machine=header["e_machine"],
        elf_type=header["e_type"],
        osabi=osabi,
        interpreter=interpreter,
        has_dynamic=has_dynamic,
        needed=tuple(needed),
        pie_flag=pie,
        sections=tuple(sections),
        symbols=frozenset(symbols),
        undefined=frozenset(undefined),
        notes=tuple(notes),
        gnu_stack=gnu_stack,
        wx_segments=wx,
        glibc_evidence=tuple(glibc),
        musl_evidence=tuple(musl),
        nss_evidence=tuple(nss),
        dynamic_reloc_types=tuple(sorted(relocs.items())),
        entry_code=entry_code,
        program_headers=header["e_phnum"],
        go_buildinfo=go,
        debug_data=b"".join(debug),
        debug_paths=_dwarf_paths(elf) if debug and elf.header["e_type"] != "ET_REL" else (),
        other_data=bytes(other),
    )


def _dwarf_paths(elf):
    """Absolute paths the DWARF names: each unit's directory and name, its line table's directories and files
    (DWARF 4 and 5 spell those differently)."""
    dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
    found = set()
    for cu in dwarf.iter_CUs():
        top = cu.get_top_DIE().attributes
        found.update(top[a].value for a in ("DW_AT_comp_dir", "DW_AT_name") if a in top)
        lines = dwarf.line_program_for_CU(cu)
        if lines is None:
            continue
        found.update(d.get("DW_LNCT_path") if hasattr(d, "get") else d for d in lines.header.get("include_directory", ()))
        found.update(f.get("name") or f.get("DW_LNCT_path") for f in lines.header.get("file_entry", ()))
    return tuple(sorted(p.decode("utf-8", "replace") for p in found if isinstance(p, bytes) and p.startswith(b"/")))
