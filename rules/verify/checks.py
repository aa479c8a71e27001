"""Judging facts against a policy: each check has a stable id, a reason and the evidence.

A policy is drawn from what was asked for (platform, static, libc, strip); a check may be relaxed with a
stated reason, which then shows in the report instead of silently disappearing.
"""
import functools
import hashlib
import json
import os
import re


import attrs

from ..configure.platform import Platform
from ..configure.toolchains.zig import CANONICAL_DEBUG_DIR
from .archive import AR_MAGIC, read_archive
from .elf import ELF_MAGIC, RELATIVE_RELOCS, read_elf, read_header, read_object, undefined_symbols
from .errors import MalformedInput

GLIBC_ONLY_PREFIXES = ("__isoc23_",)  # newer than the table's glibc
ARCH_OF_MACHINE = {"EM_X86_64": "amd64", "EM_AARCH64": "arm64"}
# Absolute paths debug info may name: Go's -trimpath marker, the directory Go maps its cgo work dir to, and the
# canonical directory split debug files give zig's lib dir and cache (execute/debuginfo.py).
DWARF_ALLOWED = ("/_/", "/tmp/go-build/", CANONICAL_DEBUG_DIR + "/")
BUILD_TEMP_PATTERNS = (rb"/tmp/go-build[0-9]+", rb"/tmp/go-link-[0-9]+", rb"\$WORK/b[0-9]+")
# GNU libstdc++'s own names: its dual-ABI namespace and its std::__throw_* helpers. libc++ (zig's) names its
# inline namespace std::__1 (_ZNSt3__1...) and defines none of these.
LIBSTDCXX_MARKS = re.compile(r"St7__cxx11|^_ZSt\d+__throw_|^_ZNKSt7__cxx11")


@attrs.frozen
class Finding:
    check: str
    ok: bool
    reason: str
    evidence: str = ""
    relaxed: str = ""  # the stated reason when a failure was allowed


@attrs.frozen
class Report:
    path: str
    kind: str
    findings: tuple
    summary: dict

    @property
    def ok(self):
        return all(f.ok or f.relaxed for f in self.findings)

    @property
    def failures(self):
        return [f for f in self.findings if not f.ok and not f.relaxed]

    def to_json(self):
        return {
            "file": self.path,
            "kind": self.kind,
            "ok": self.ok,
            "summary": self.summary,
            "checks": [attrs.asdict(f) for f in self.findings],
        }


class _Collector:
    def __init__(self, policy):
        self.policy = policy
        self.findings = []

    def add(self, check, ok, reason, evidence=""):
        relaxed = "" if ok else (self.policy.relaxed(check) or "")
        self.findings.append(Finding(check, bool(ok), reason, evidence, relaxed))


def _identity(out, facts, platform, what=""):
    info = platform.info
    out.add("identity.class", facts.elf_class == info.elf_class, f"{what}ELF class must be {info.elf_class}-bit for {platform}",
            f"ELFCLASS{facts.elf_class}")
    out.add("identity.endian", facts.little_endian == info.little_endian,
            f"{what}byte order must be {'little' if info.little_endian else 'big'}-endian for {platform}",
            "little-endian" if facts.little_endian else "big-endian")
    out.add("identity.machine", facts.machine == info.elf_machine, f"{what}machine must be {info.elf_machine} for {platform}",
            facts.machine)
    code = getattr(facts, "entry_code", ())
    if code:
        machines = sorted({m for m, _ in code})
        out.add("identity.code", machines == [info.elf_machine],
                f"{what}the code at the entry point must be {info.elf_machine} code for {platform}",
                f"entry point is {', '.join(f'{libc} _start for {m}' for m, libc in code)}")


@functools.lru_cache(maxsize=None)
def _glibc_only(arch):
    """Symbols glibc exports and musl's static libc does not (docs/gen_glibc_only.py made the table)."""
    with open(os.path.join(os.path.dirname(__file__), "glibc_only.json")) as fh:
        return frozenset(json.load(fh).get(arch, ()))


def glibc_references(undefined, machine):
    """Undefined names that only glibc defines: the code was compiled against glibc's headers."""
    table = _glibc_only(ARCH_OF_MACHINE.get(machine, "amd64"))
    return sorted(s for s in undefined
                  if s in table or "@GLIBC_" in s or s.startswith(GLIBC_ONLY_PREFIXES)
                  or (s.startswith("__") and s.endswith("_chk") and s != "__stack_chk_fail"))


def libstdcxx_names(names):
    """Names only GNU libstdc++ defines (std::__cxx11, std::__throw_*): code compiled with g++'s headers."""
    return sorted(n for n in names if LIBSTDCXX_MARKS.search(n))


def _glibc_reason(refs, cxx_marks):
    if cxx_marks:
        return "compiled with g++ against glibc's headers and GNU libstdc++: these symbols do not exist in musl"
    return "compiled against glibc headers: these symbols do not exist in musl"


def _check_cxx_runtime(out, check, names, policy, where=""):
    if policy.cxx_runtime != "libc++":
        return
    found = libstdcxx_names(names)
    out.add(check, not found, f"{where}compiled against GNU libstdc++ (std::__cxx11 ABI), which the link's libc++ "
            "does not define: rebuild it with this toolchain's C++ compiler", ", ".join(found[:3]))


def check_executable(facts, policy):
    out = _Collector(policy)
    if policy.platform:
        _identity(out, facts, policy.platform)
    out.add("type.executable", facts.elf_type in ("ET_EXEC", "ET_DYN") and facts.link_type != "shared-object",
            "must be an executable", f"{facts.elf_type}, {facts.link_type}")
    if policy.static:
        out.add("link.interp", not facts.interpreter, "a static binary has no program interpreter (PT_INTERP)",
                f"PT_INTERP {facts.interpreter}" if facts.interpreter else "none")
        out.add("link.needed", not facts.needed, "a static binary needs no shared library (DT_NEEDED)",
                ", ".join(f"NEEDED {n}" for n in facts.needed) or "none")
        out.add("link.static", facts.link_type in ("static", "static-pie"), "must be static or static-pie",
                facts.link_type)
    libc = facts.libc
    if policy.libc != "any":
        # Positive evidence is required: a glibc binary with its markers scrubbed is "unknown", not musl.
        evidence = {"glibc": facts.glibc_evidence, "musl": facts.musl_evidence}.get(libc, ())
        out.add("libc", libc == policy.libc,
                f"must be linked against {policy.libc} (its _start at the entry point, its symbols or strings)",
                f"{libc}: {'; '.join(evidence[:3])}" if evidence else "unknown: no evidence of any libc")
    if libc == "glibc" and facts.link_type != "dynamic":
        out.add("libc.nss", not facts.nss_evidence,
                "static glibc loads NSS modules at run time (getaddrinfo, getpwnam): it breaks on other hosts",
                "; ".join(facts.nss_evidence))
    if policy.stripped:
        kept = [s for s in facts.sections if s == ".symtab" or s.startswith((".debug_", ".zdebug_"))]
        out.add("stripped", not kept, "must carry no symbol table and no debug sections", ", ".join(kept) or "none")
    out.add("hardening.gnu-stack", facts.gnu_stack == "rw", "the stack must be non-executable (PT_GNU_STACK without PF_X)",
            f"PT_GNU_STACK {facts.gnu_stack}")
    out.add("hardening.wx", facts.wx_segments == 0, "no segment may be both writable and executable",
            f"{facts.wx_segments} W+X PT_LOAD segment(s)")
    if facts.link_type == "static-pie" and libc != "glibc":
        relative = RELATIVE_RELOCS.get(facts.machine, ())
        other = [f"type {t} x{n}" for t, n in facts.dynamic_reloc_types if t not in relative]
        out.add("hardening.relocs", not other, "a musl static-pie may carry only RELATIVE relocations",
                ", ".join(other) or "RELATIVE only")
    _check_go(out, facts, policy)
    _check_leaks(out, facts, policy)
    return out


def _check_go(out, facts, policy):
    info = facts.go_buildinfo
    if info is None:
        if policy.go:
            out.add("go.buildinfo", False, "a Go binary must carry its build information", "no .go.buildinfo")
        return
    out.add("go.buildinfo", True, "Go build information is present", f"{info.go_version} {info.path}")
    if policy.cgo:
        value = info.setting("CGO_ENABLED", "unset")
        out.add("go.cgo", value == "1", "a cgo binary must be built with CGO_ENABLED=1", f"CGO_ENABLED={value}")
    if policy.platform:
        for key, want in (("GOOS", policy.platform.os), ("GOARCH", policy.platform.info.goarch)):
            got = info.setting(key, "unset")
            out.add(f"go.{key.lower()}", got == want, f"{key} must be {want} for {policy.platform}", f"{key}={got}")
    if policy.trimpath:
        value = info.setting("-trimpath", "false")
        out.add("go.trimpath", value == "true", "the build asked for -trimpath", f"-trimpath={value}")


def outermost(prefixes):
    """`prefixes` without those inside another one (HOME holds the caches): a string found under the inner one
    is found, whole, under the outer one, and each prefix is a pass over the file (~0.6 ms a 2 MB binary)."""
    kept: list = []
    for prefix in sorted({p.rstrip("/") for p in prefixes if p.rstrip("/")}):
        if not any(prefix.startswith(k + "/") for k in kept):
            kept.append(prefix)
    return kept


def find_paths(data, prefixes):
    """Printable strings in `data` that start with one of `prefixes` (whole path components only)."""
    found = set()
    patterns = [re.escape(p.encode()) + rb"(?=[/\x00\s\"':]|$)" for p in outermost(prefixes)]
    patterns += list(BUILD_TEMP_PATTERNS)
    for pattern in patterns:
        for match in re.finditer(pattern, data):
            end = match.end()
            while end < len(data) and 0x21 <= data[end] < 0x7F and end - match.start() < 200:
                end += 1
            found.add(data[match.start():end].decode("latin-1"))
            if len(found) >= 5:
                return sorted(found)
    return sorted(found)


def leak_failures(facts, policy):
    """The failed leak checks of `facts` under `policy` (a split debug file is judged on these alone)."""
    out = _Collector(policy)
    _check_leaks(out, facts, policy)
    return [f for f in out.findings if not f.ok and not f.relaxed]


def _check_leaks(out, facts, policy):
    leaked = find_paths(facts.other_data, policy.leak_paths)
    out.add("leaks.strings", not leaked, "no absolute path of the build machine may be embedded",
            ", ".join(leaked) or "none")
    if facts.debug_data:
        leaked = find_paths(facts.debug_data, policy.leak_paths)
        allowed = DWARF_ALLOWED + tuple(policy.dwarf_allow)
        outside = [p for p in facts.debug_paths if not (p + "/").startswith(allowed)]
        leaked = sorted(set(leaked) | set(outside[:5]))
        if policy.leak_dwarf or not leaked:
            out.add("leaks.dwarf", not leaked, "debug info must not name paths of the build machine",
                    ", ".join(leaked) or "none")
        else:
            out.findings.append(Finding("leaks.dwarf", False, "debug info must not name paths of the build machine",
                                        ", ".join(leaked), "unstripped: DWARF keeps the toolchain's paths"))


def check_archive(members, policy):
    out = _Collector(policy)
    if not members:
        out.add("archive.members", False, "an archive must hold at least one object", "0 members")
    parsed = []
    for member in members:
        try:
            parsed.append((member, read_object(member.data)))
        except MalformedInput as exc:
            out.add("archive.member-elf", False, f"member {member.name}: every member must be an ELF object", str(exc))
    # A reference one member makes and another defines never leaves the archive.
    defined = frozenset(s for _, facts in parsed for s in facts.symbols)
    # Whether the archive as a whole was built with g++ against libstdc++ (its C members say so too).
    gnu_cxx = libstdcxx_names(frozenset(s for _, facts in parsed for s in facts.undefined) - defined)
    for member, facts in parsed:
        where = f"member {member.name}: "
        out.add("archive.member-type", facts.elf_type == "ET_REL" and not facts.program_headers,
                f"{where}every member must be a relocatable object",
                facts.elf_type + (f" with {facts.program_headers} program headers" if facts.program_headers else ""))
        if policy.platform:
            _identity(out, facts, policy.platform, where)
        out.add("archive.deterministic", (member.mtime, member.uid, member.gid) == (0, 0, 0),
                f"{where}archive headers must be deterministic (mtime, uid, gid 0)",
                f"mtime={member.mtime} uid={member.uid} gid={member.gid}")
        outside = facts.undefined - defined
        if policy.libc == "musl":
            glibc_refs = glibc_references(outside, facts.machine)
            out.add("archive.glibc-refs", not glibc_refs, where + _glibc_reason(glibc_refs, gnu_cxx),
                    ", ".join(glibc_refs[:5]))
        _check_cxx_runtime(out, "archive.cxx-runtime", outside, policy, where)
    return out


def _check_object(path, data, header, policy):
    """An object: its identity, and no reference only glibc can satisfy (read without pyelftools: one per compile)."""
    out = _Collector(policy)
    if policy.platform:
        _identity(out, header, policy.platform)
    undefined = undefined_symbols(data, header)
    if policy.libc == "musl":
        refs = glibc_references(undefined, header.machine)
        out.add("object.glibc-refs", not refs, _glibc_reason(refs, libstdcxx_names(undefined)), ", ".join(refs[:5]))
    _check_cxx_runtime(out, "object.cxx-runtime", undefined, policy)
    summary = {"machine": header.machine, "type": header.elf_type, "size": len(data),
               "sha256": hashlib.sha256(data).hexdigest()}
    return Report(path, "object", tuple(out.findings), summary)


def verify_bytes(path, data, policy):
    """Verify one file's contents; raises MalformedInput for input that is neither ELF nor ar."""
    if data.startswith(AR_MAGIC):
        members = read_archive(data)
        out = check_archive(members, policy)
        summary = {"members": len(members)}
        kind = "archive"
    elif data.startswith(ELF_MAGIC):
        header = read_header(data)
        if header.elf_type == "ET_REL" and not header.program_headers and not header.entry:
            return _check_object(path, data, header, policy)
        facts = read_elf(data)
        out = check_executable(facts, policy)
        if header.elf_type == "ET_REL":
            # A header that says "object" over a file that has program headers or an entry point lies:
            # the file is judged as what it is, and the lie is a failure of its own.
            out.add("type.header", False, "the ELF type must agree with the contents",
                    f"ET_REL with {header.program_headers} program headers, entry {header.entry:#x}")
        kind = "executable"
        detected = Platform.from_elf(facts.machine, facts.elf_class, facts.little_endian)
        summary = {"machine": facts.machine, "platform": str(detected) if detected else None,
                   "link_type": facts.link_type, "libc": facts.libc, "stripped": facts.stripped}
        if facts.go_buildinfo:
            summary["go"] = facts.go_buildinfo.to_json()
    else:
        raise MalformedInput("neither an ELF file nor an ar archive")
    summary["size"] = len(data)
    summary["sha256"] = hashlib.sha256(data).hexdigest()
    return Report(path, kind, tuple(out.findings), summary)


def verify_file(path, policy):
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise MalformedInput(f"cannot read: {exc.strerror or exc}") from None
    return verify_bytes(path, data, policy)
