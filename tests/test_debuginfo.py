"""Split debug files (execute/debuginfo.py): the ELF surgery on a synthetic file (unit), and real split-debug
builds read back by gdb and the verifier (integration)."""
import hashlib
import os
import struct
import subprocess
import zlib

import pytest
from elftools.elf.elffile import ELFFile

from conftest import require, run_binary

SHDR = struct.Struct("<IIQQQQIIQQ")


def _elf(build_id=bytes(20), debug=".debug_info"):
    """A small ELF64 executable: one PT_LOAD over a build-ID note and .text, then a debug section (`debug`),
    .symtab, .strtab, .comment and .shstrtab, as a linker lays them out."""
    names = b"\0.note.gnu.build-id\0.text\0" + debug.encode() + b"\0.symtab\0.strtab\0.comment\0.shstrtab\0"

    def at(name):
        return names.index(name.encode() + b"\0")

    note = struct.pack("<III", 4, len(build_id), 3) + b"GNU\0" + build_id
    body = bytearray(64 + 56)
    sections = [[0] * 10]
    offset = len(body)
    body += note
    sections.append([at(".note.gnu.build-id"), 7, 2, 0x400000 + offset, offset, len(note), 0, 0, 4, 0])
    offset = len(body)
    body += b"\x90" * 32
    sections.append([at(".text"), 1, 6, 0x400000 + offset, offset, 32, 0, 0, 16, 0])
    end = len(body)
    for name, kind, data, link in ((debug, 1, b"DWARF" * 10, 0), (".symtab", 2, bytes(48), 5),
                                   (".strtab", 3, b"\0main\0", 0), (".comment", 1, b"zig\0", 0),
                                   (".shstrtab", 3, names, 0)):
        offset = len(body)
        body += data
        sections.append([at(name), kind, 0, 0, offset, len(data), link, 0, 1, 24 if kind == 2 else 0])
    body += bytes(-len(body) % 8)
    shoff = len(body)
    for s in sections:
        body += SHDR.pack(*s)
    struct.pack_into("<4sBBBB8xHHIQQQIHHHHHH", body, 0, b"\x7fELF", 2, 1, 1, 0, 2, 62, 1, 0x400000 + 120, 64,
                     shoff, 0, 64, 56, 1, 64, len(sections), len(sections) - 1)
    struct.pack_into("<IIQQQQQQ", body, 64, 1, 5, 0, 0x400000, 0x400000, end, end, 0x1000)
    return body


def _sections(data):
    import io
    return {s.name: s for s in ELFFile(io.BytesIO(data)).iter_sections()}


@pytest.mark.unit
def test_build_id_is_a_hash_of_the_file_with_the_id_zeroed():
    from sconsrules.execute import debuginfo
    data = _elf()
    expected = hashlib.sha1(bytes(data)).hexdigest()
    assert debuginfo.set_build_id(data, "app") == expected
    assert expected in data.hex()
    again = bytearray(data)
    assert debuginfo.set_build_id(again, "app") == expected  # a filled ID is zeroed before hashing


@pytest.mark.unit
def test_split_keeps_the_loaded_bytes_and_moves_debug_and_symbols_out():
    from sconsrules.execute import debuginfo
    data = _elf()
    build_id = debuginfo.set_build_id(data, "app")
    debug = debuginfo.debug_file(data, "app")
    stripped = debuginfo.stripped_file(data, "app.debug", zlib.crc32(debug), "app")
    kept = _sections(stripped)
    assert ".debug_info" not in kept and ".symtab" not in kept and ".strtab" not in kept
    assert kept[".comment"].data() == b"zig\0"
    assert stripped[:64 + 56 + 52] [64:] == bytes(data[64:64 + 56 + 52])  # program header, note and .text as linked
    link = kept[".gnu_debuglink"].data()
    assert link[:link.index(b"\0")] == b"app.debug" and struct.unpack("<I", link[-4:])[0] == zlib.crc32(debug)
    moved = _sections(debug)
    assert moved[".debug_info"].data() == b"DWARF" * 10 and moved[".strtab"].data() == b"\0main\0"
    assert moved[".text"]["sh_type"] == "SHT_NOBITS" and moved[".text"]["sh_addr"] == kept[".text"]["sh_addr"]
    assert build_id in moved[".note.gnu.build-id"].data().hex()
    assert build_id in kept[".note.gnu.build-id"].data().hex()


@pytest.mark.unit
@pytest.mark.parametrize("mutate, cause", [
    (lambda d: d.__setitem__(slice(4, 5), b"\x01"), "not an ELF64 little-endian file"),
    (lambda d: d.__setitem__(slice(0x28, 0x30), struct.pack("<Q", 1 << 40)), "malformed section header table"),
])
def test_split_refuses_malformed_files(mutate, cause):
    from sconsrules.execute import debuginfo
    data = _elf()
    mutate(data)
    with pytest.raises(ValueError, match=cause):
        debuginfo.set_build_id(data, "app")


@pytest.mark.unit
def test_a_build_id_of_another_size_is_refused():
    from sconsrules.execute import debuginfo
    with pytest.raises(ValueError, match="holds 8 bytes, not 20"):
        debuginfo.set_build_id(_elf(build_id=bytes(8)), "app")


@pytest.mark.unit
def test_canonicalize_rewrites_objects_and_archives_only(tmp_path):
    from sconsrules.execute import debuginfo
    old, new = "/home/u/.cache/zig-debug/____", "/sconsrules-zig/______________"
    obj = tmp_path / "o" / "a" / "x.o"
    archive = tmp_path / "o" / "b" / "libc.a"
    manifest = tmp_path / "h" / "abc.txt"
    for path, head in ((obj, b"\x7fELF"), (archive, b"!<arch>\n"), (manifest, b"0 1 2 ")):
        path.parent.mkdir(parents=True)
        path.write_bytes(head + old.encode() + b"/lib/libc/musl/src/a.c\0")
    debuginfo.canonicalize(str(tmp_path), old, new)
    assert obj.read_bytes() == b"\x7fELF" + new.encode() + b"/lib/libc/musl/src/a.c\0"
    assert archive.read_bytes().startswith(b"!<arch>\n" + new.encode())
    assert old.encode() in manifest.read_bytes()  # zig's manifests keep the real paths: its cache still hits


@pytest.mark.unit
def test_debug_dir_has_a_fixed_length_whatever_the_cache(monkeypatch):
    from sconsrules.configure.toolchains import zig
    lengths = set()
    for base in ("/c", "/home/someone-with-a-long-name/.cache"):
        monkeypatch.setenv("XDG_CACHE_HOME", base)
        lengths.add(len(zig.debug_dir()))
    assert lengths == {zig.DEBUG_DIR_LENGTH} == {len(zig.CANONICAL_DEBUG_DIR)}
    monkeypatch.setenv("XDG_CACHE_HOME", "/" + "x" * 100)
    with pytest.raises(ValueError, match="too long for split debug files"):
        zig.debug_dir()


def _module(analysis):
    analysis.write("go.mod", "module example.com/app\n\ngo 1.22\n")
    analysis.write("main.go", 'package main\n\n// int f(void) { return 1; }\nimport "C"\n\nfunc main() { _ = C.f() }\n')


@pytest.mark.unit
def test_split_debug_needs_a_stripped_binary(analysis):
    _module(analysis)
    assert analysis.error("env.GoCgoBinary('app', package='.', strip=False, split_debug=True)") == (
        "sconsrules: GoCgoBinary 'app': split_debug ships a stripped binary beside its .debug file: drop strip=False")


@pytest.mark.unit
def test_a_split_debug_link_warms_links_and_splits(analysis, monkeypatch):
    from sconsrules.configure.toolchains import zig
    monkeypatch.setenv("XDG_CACHE_HOME", "/tmp/sconsrules-analysis-cache")
    _module(analysis)
    analysis.env.GoCgoBinary("app", package=".", split_debug=True, platforms=["linux/arm64"])
    step = analysis.step("GoCgoBinary", "go build")
    functions = [getattr(c, "function", c.argv[1] if len(c.argv) > 1 else "") for c in step.commands]
    assert functions == ["sconsrules.execute.debuginfo:warm", "sconsrules.execute.golinks:link",
                         "sconsrules.execute.debuginfo:split"]
    assert step.targets()[:2] == [step.out, step.out + ".debug"] and step.caching.remote
    directory = zig.debug_dir()
    assert dict(step.passenv)["ZIG_LIB_DIR"] == directory + "/lib"
    build = step.commands[1].shown
    ldflags = build.argv[build.argv.index("-ldflags") + 1]
    assert "-Wl,--build-id=0x" + "00" * 20 in ldflags and "-s" not in ldflags.split()
    assert f"-ffile-prefix-map={directory}={zig.CANONICAL_DEBUG_DIR}" in dict(build.env)["CGO_CFLAGS"]
    warm = step.commands[0].args[4]
    assert warm.cwd.startswith(directory + "/warm/aarch64-linux-musl") and "-X=" not in " ".join(warm.argv)


def _split_project(path):
    from conftest import Project
    project = Project(path)
    project.copy_example("hello-cgo")
    project.write("SConstruct", 'env = Environment(tools=["sconsrules"])\nSConscript("SConscript", exports="env")\n')
    project.write("SConscript", project.read("SConscript").replace(
        "x_defs=", 'split_debug=True, platforms=["linux/amd64", "linux/arm64"], x_defs='))
    return project


def _build_id(sections):
    return sections[".note.gnu.build-id"].data()[16:].hex()


@pytest.mark.integration
def test_split_debug_files_are_read_by_gdb_and_the_same_from_any_checkout(tmp_path):
    """Two checkouts at paths of different lengths: the stripped binaries and their .debug files are the same
    bytes; the binary names its debug file (CRC32) and shares its build ID; the DWARF names only relative and
    canonical paths; gdb finds the file beside the binary and resolves Go, cgo and musl lines; arm64 runs."""
    require("zig")
    gdb = require("gdb", "to read split debug files")
    from sconsrules.configure.toolchains.zig import CANONICAL_DEBUG_DIR
    from sconsrules.verify.checks import DWARF_ALLOWED
    from sconsrules.verify.elf import read_elf
    a = _split_project(tmp_path / "a")
    b = _split_project(tmp_path / "a-much-longer-directory-name" / "b")
    a.scons()
    b.scons()
    for config in ("linux-amd64-musl-zig", "linux-arm64-musl-zig"):
        binary, debug = a.path("build", config, "hello-cgo"), a.path("build", config, "hello-cgo.debug")
        for path in (binary, debug):
            assert open(path, "rb").read() == open(b.path("build", config, os.path.basename(path)), "rb").read(), path
        with open(binary, "rb") as fh:
            kept = _sections(fh.read())
        with open(debug, "rb") as fh:
            data = fh.read()
        moved = _sections(data)
        assert not [n for n in kept if n.startswith(".debug_") or n == ".symtab"]
        link = kept[".gnu_debuglink"].data()
        assert link[:link.index(b"\0")] == b"hello-cgo.debug" and struct.unpack("<I", link[-4:])[0] == zlib.crc32(data)
        assert _build_id(kept) == _build_id(moved) and _build_id(kept) != "00" * 20
        assert {".debug_info", ".debug_line", ".symtab"} <= set(moved)
        paths = read_elf(data).debug_paths
        assert paths and all((p + "/").startswith(DWARF_ALLOWED) for p in paths), paths
        assert any(p.startswith(CANONICAL_DEBUG_DIR + "/lib/libc/musl/src/") for p in paths)
        assert run_binary(binary, config.split("-")[0] + "/" + config.split("-")[1]).stdout == "hello from cgo: 42\n"
    amd64 = a.path("build", "linux-amd64-musl-zig", "hello-cgo")
    out = subprocess.run([gdb, "-nx", "-batch", "-ex", "info line main.main", "-ex", "info line answer",
                          "-ex", "info line __libc_start_main", amd64], capture_output=True, text=True).stdout
    assert 'of "example.com/hello-cgo/main.go" starts at address' in out, out
    assert 'Line 7 of "/_/example.com/hello-cgo/main.go" starts at address' in out, out  # the cgo preamble's C
    assert f'of "{CANONICAL_DEBUG_DIR}/lib/libc/musl/src/env/__libc_start_main.c"' in out, out
    # a changed .debug is rebuilt; then nothing is
    with open(amd64 + ".debug", "r+b") as fh:
        fh.write(b"\0" * 64)
    a.scons()
    assert open(amd64 + ".debug", "rb").read() == open(b.path("build", "linux-amd64-musl-zig", "hello-cgo.debug"),
                                                       "rb").read()
    assert a.scons().steps() == []


@pytest.mark.unit
def test_the_environment_default_splits_where_it_can(analysis):
    """SCONSRULES_SPLIT_DEBUG applies to stripped binaries on platforms it can split; the attribute wins."""
    _module(analysis)
    analysis.env["SCONSRULES_SPLIT_DEBUG"] = True
    analysis.env.GoCgoBinary("app", package=".", platforms=["linux/amd64", "linux/arm/v7"])
    analysis.env.GoCgoBinary("kept", package=".", strip=False, platforms=["linux/amd64"])
    analysis.env.GoCgoBinary("off", package=".", split_debug=False, platforms=["linux/amd64"])
    sides = {(s.label, s.config): s.outputs.side for s in analysis.steps("GoCgoBinary", "go build")}
    assert sides == {("app", "linux-amd64-musl-zig"): (".debug",), ("app", "linux-arm-musl-zig"): (),
                     ("kept", "linux-amd64-musl-zig"): (), ("off", "linux-amd64-musl-zig"): ()}
    analysis.env["SCONSRULES_SPLIT_DEBUG"] = "yes"
    assert "SCONSRULES_SPLIT_DEBUG must be True or False, not 'yes'" in analysis.error(
        "env.GoCgoBinary('app2', package='.', platforms=['linux/amd64'])")


@pytest.mark.unit
def test_split_debug_is_refused_where_it_cannot_be_made(analysis):
    _module(analysis)
    assert analysis.error("env.GoCgoBinary('app', package='.', split_debug=True, platforms=['linux/arm/v7'])") == (
        "sconsrules: GoCgoBinary 'app': [linux-arm-musl-zig] split_debug: linux/arm/v7 binaries are not ELF64 "
        "little-endian, the only kind execute/debuginfo.py splits (hint: build split-debug binaries natively with "
        "toolchain='zig' for amd64, arm64, riscv64 or ppc64le)")


@pytest.mark.unit
def test_a_restored_pair_must_belong_together(tmp_path):
    """From the output cache: the binary's .gnu_debuglink must name the debug file with its CRC32, and both must
    carry the same build ID; anything else is refused (and the step rebuilt)."""
    from sconsrules.errors import RuleError
    from sconsrules.execute import debuginfo
    from sconsrules.verify.policy import Policy
    data = _elf(debug=".debug_str")  # strings only: no units for the DWARF reader to parse
    debuginfo.set_build_id(data, "app")
    debug = debuginfo.debug_file(data, "app")
    binary, debug_path = tmp_path / "app", tmp_path / "app.debug"
    binary.write_bytes(debuginfo.stripped_file(data, "app.debug", zlib.crc32(debug), "app"))
    debug_path.write_bytes(debug)
    who = ("GoCgoBinary", "app")
    debuginfo.check_pair(str(binary), str(debug_path), "app.debug", Policy(), who)
    other = bytearray(debug)
    other[-200] ^= 1  # another debug file: its CRC32 differs
    debug_path.write_bytes(bytes(other))
    with pytest.raises(RuleError, match="does not name this debug file"):
        debuginfo.check_pair(str(binary), str(debug_path), "app.debug", Policy(), who)
    debug_path.write_bytes(debug)
    with pytest.raises(RuleError, match="does not name this debug file"):
        debuginfo.check_pair(str(binary), str(debug_path), "other.debug", Policy(), who)
    renamed = bytearray(_elf(build_id=b"\x01" * 20, debug=".debug_str"))  # a debug file of another build, CRC32 made to match
    foreign = debuginfo.debug_file(renamed, "app")
    binary.write_bytes(debuginfo.stripped_file(data, "app.debug", zlib.crc32(foreign), "app"))
    debug_path.write_bytes(foreign)
    with pytest.raises(RuleError, match="different build IDs"):
        debuginfo.check_pair(str(binary), str(debug_path), "app.debug", Policy(), who)
