"""The audit's false accepts: real ELF files mutated by the test must be rejected, genuine ones never."""
import os
import struct
import subprocess
import sys

import pytest

from conftest import require
from sconsrules.configure.platform import Platform
from sconsrules.verify import Policy, verify_bytes, verify_file
from sconsrules.verify.elf import read_elf

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def failed(report):
    return sorted({f.check for f in report.failures})


def read(path):
    with open(path, "rb") as fh:
        return bytearray(fh.read())


def scrub(data, needle):
    """Overwrite every occurrence of `needle` with as many 'X's."""
    start = data.find(needle)
    while start >= 0:
        data[start:start + len(needle)] = b"X" * len(needle)
        start = data.find(needle, start)
    return data


def entry_offset(data):
    from elftools.elf.elffile import ELFFile
    import io
    elf = ELFFile(io.BytesIO(bytes(data)))
    entry = elf.header["e_entry"]
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= entry < seg["p_vaddr"] + seg["p_filesz"]:
            return seg["p_offset"] + entry - seg["p_vaddr"]
    raise AssertionError("no entry point")


@pytest.fixture(scope="module")
def glibc_stripped(corpus):
    return corpus.path("glibc-static-stripped")


def test_glibc_with_its_markers_removed_is_not_musl(glibc_stripped):
    data = read(glibc_stripped)
    data[7] = 0  # EI_OSABI: SYSV
    for needle in (b"GLIBC_TUNABLES", b"Fatal glibc error", b"/etc/ld.so.cache"):
        scrub(data, needle)
    note = data.find(struct.pack("<III", 4, 16, 1) + b"GNU\x00")  # the ABI-tag note: renamed, retyped
    assert note > 0
    data[note + 8:note + 16] = struct.pack("<I", 0x5A5A) + b"XYZ\x00"
    facts = read_elf(bytes(data))
    assert not [e for e in facts.glibc_evidence if "note" in e or "string" in e or "EI_OSABI" in e]
    report = verify_bytes("scrubbed", bytes(data), Policy(AMD64))
    assert "libc" in failed(report) and report.summary["libc"] == "glibc"
    assert "glibc's _start" in [f for f in report.failures if f.check == "libc"][0].evidence
    # Its _start scrubbed as well: nothing says musl, and that is not enough for --libc musl.
    offset = entry_offset(data)
    data[offset:offset + 16] = b"\x90" * 16
    report = verify_bytes("scrubbed", bytes(data), Policy(AMD64))
    assert report.summary["libc"] == "unknown" and "libc" in failed(report)


def test_stripped_genuine_musl_binaries_show_musl(corpus):
    for name, platform in [("musl-static-stripped", AMD64), ("zig-amd64-stripped", AMD64), ("zig-arm64", ARM64),
                           ("go-cgo-arm64", ARM64)]:
        report = verify_file(corpus.path(name), Policy(platform))
        assert report.ok and report.summary["libc"] == "musl", (name, failed(report))


def test_arm64_binary_with_x86_64_machine_field(corpus):
    data = read(corpus.path("zig-arm64"))
    struct.pack_into("<H", data, 18, 62)  # e_machine = EM_X86_64
    report = verify_bytes("patched", bytes(data), Policy(AMD64))
    assert failed(report) == ["identity.code"]
    assert "EM_AARCH64" in report.failures[0].evidence


def test_dynamic_glibc_executable_calling_itself_an_object(corpus):
    data = read(corpus.path("glibc-dynamic"))
    struct.pack_into("<H", data, 16, 1)  # e_type = ET_REL
    report = verify_bytes("patched", bytes(data), Policy(AMD64))
    assert report.kind == "executable"
    assert {"type.header", "link.interp", "link.needed", "libc"} <= set(failed(report))


def test_an_object_with_glibc_references(corpus):
    report = verify_file(corpus.path("fort-glibc.o"), Policy(AMD64))
    assert failed(report) == ["object.glibc-refs"] and "__snprintf_chk" in report.failures[0].evidence
    assert verify_file(corpus.path("fort-musl.o"), Policy(AMD64)).ok


GLIBC_ABI = ["__xstat", "__fxstat", "__lxstat", "fopen64", "lseek64", "getcontext", "makecontext", "setcontext",
             "__register_atfork", "gnu_get_libc_version"]


@pytest.mark.parametrize("symbol", GLIBC_ABI + ["memcpy@GLIBC_2.2.5"])
def test_glibc_abi_references_are_named(corpus, tmp_path, symbol):
    require("gcc")
    if "@" in symbol:
        code = ('__asm__(".symver old_memcpy, memcpy@GLIBC_2.2.5");\n'
                "void *old_memcpy(void *, const void *, unsigned long);\n"
                "void *f(void *a, const void *b) { return old_memcpy(a, b, 1); }\n")
    else:
        code = f"extern int {symbol}();\nint f(void) {{ return {symbol}(); }}\n"
    (tmp_path / "x.c").write_text(code)
    subprocess.run(["gcc", "-O2", "-c", "x.c", "-o", "x.o"], cwd=tmp_path, check=True)
    subprocess.run(["ar", "rcsD", "libx.a", "x.o"], cwd=tmp_path, check=True)
    obj = verify_file(str(tmp_path / "x.o"), Policy(AMD64))
    assert failed(obj) == ["object.glibc-refs"] and symbol in obj.failures[0].evidence
    archive = verify_file(str(tmp_path / "libx.a"), Policy(AMD64))
    assert failed(archive) == ["archive.glibc-refs"] and symbol in archive.failures[0].evidence


def test_musl_itself_is_never_called_glibc(corpus):
    """musl's own archives (Debian's for musl-gcc, zig's for each target: the corpus built both) reference only
    musl: 0 false rejects."""
    require("musl-gcc")
    import glob
    from sconsrules.configure.toolchains.zig import zig_cache_dir
    archives = glob.glob("/usr/lib/*-linux-musl/libc.a") + glob.glob(os.path.join(zig_cache_dir(), "o", "*", "libc.a"))
    assert archives
    for archive in archives:
        report = verify_file(archive, Policy())
        assert not [f for f in report.failures if f.check == "archive.glibc-refs"], archive


def test_verifier_output_into_a_closed_pipe_has_no_traceback(corpus):
    files = [corpus.path("glibc-dynamic")] * 200
    cmd = f"{sys.executable} -m sconsrules.verify --json {' '.join(files)} | head -c 10"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
