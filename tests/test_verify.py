"""The verifier against a corpus built on the fly with the real compilers."""
import os

import pytest

from corpus import EXPECTED, zig_exe
from sconsrules.configure.platform import Platform
from sconsrules.verify import MalformedInput, Policy, verify_bytes, verify_file

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def failed(report):
    return sorted({f.check for f in report.failures})


def _policy(corpus, platform, options):
    options = dict(options)
    if "leak_paths" in options:
        zig_dir = os.path.dirname(zig_exe())
        options["leak_paths"] = tuple(p.format(corpus=corpus, zig=zig_dir) for p in options["leak_paths"])
    return Policy(Platform.parse(platform), **options)


@pytest.mark.parametrize("name, platform, options, failures, link, libc", EXPECTED,
                         ids=[f"{e[0]}-{e[1].split('/')[1]}-{'+'.join(e[3]) or 'ok'}" for e in EXPECTED])
def test_corpus(corpus, name, platform, options, failures, link, libc):
    report = verify_file(corpus.path(name), _policy(corpus, platform, options))
    assert failed(report) == failures
    assert report.ok == (not failures)
    assert report.summary["link_type"] == link
    if libc:
        assert report.summary["libc"] == libc


def test_go_build_info_is_read(corpus):
    report = verify_file(corpus.path("go-cgo-arm64"), Policy(ARM64, go=True))
    go = report.summary["go"]
    assert go["go_version"].startswith("go1.") and go["main"]["path"] == "example.com/corpus"
    assert go["settings"]["GOARCH"] == "arm64" and go["settings"]["CGO_ENABLED"] == "1"
    assert go["settings"]["-trimpath"] == "true"


def test_leak_evidence_names_the_path(corpus):
    report = verify_file(corpus.path("go-pure-no-trimpath"), Policy(AMD64, leak_paths=(corpus,)))
    leak = [f for f in report.failures if f.check == "leaks.strings"][0]
    assert corpus in leak.evidence


def test_relaxed_check_shows_in_the_report(corpus):
    policy = Policy(AMD64, stripped=True, relax=(("stripped", "debug build for a profiler"),), dwarf_allow=("/build/",))
    report = verify_file(corpus.path("musl-static"), policy)
    assert report.ok
    relaxed = [c for c in report.to_json()["checks"] if c["relaxed"]]
    assert [(c["check"], c["ok"], c["relaxed"]) for c in relaxed] == [("stripped", False, "debug build for a profiler")]
    assert ".symtab" in relaxed[0]["evidence"]


def test_static_pie_relocations_are_relative_only(corpus):
    report = verify_file(corpus.path("zig-static-pie"), Policy(AMD64))
    check = [f for f in report.findings if f.check == "hardening.relocs"][0]
    assert check.ok and check.evidence == "RELATIVE only"


def test_dynamic_is_allowed_when_not_static(corpus):
    report = verify_file(corpus.path("musl-gcc-static-pie"), Policy(AMD64, static=False, dwarf_allow=("/build/",)))
    assert report.ok


def test_evidence_names_the_cause(corpus):
    report = verify_file(corpus.path("glibc-dynamic"), Policy(AMD64))
    evidence = {f.check: f.evidence for f in report.failures}
    assert evidence["link.needed"] == "NEEDED libc.so.6"
    assert "ld-linux" in evidence["link.interp"]


def test_archives(corpus):
    good = verify_file(corpus.path("libmusl.a"), Policy(AMD64))
    assert good.ok and good.kind == "archive" and good.summary["members"] == 1
    glibc = verify_file(corpus.path("libglibc.a"), Policy(AMD64))
    assert failed(glibc) == ["archive.glibc-refs"]
    assert "__snprintf_chk" in glibc.failures[0].evidence
    assert failed(verify_file(corpus.path("libmusl.a"), Policy(ARM64))) == ["identity.machine"]
    assert failed(verify_file(corpus.path("libnondet.a"), Policy(AMD64))) == ["archive.deterministic"]


@pytest.mark.parametrize("name", ["truncated", "random", "hello.c"])
def test_malformed_inputs_are_refused_cleanly(corpus, name):
    with pytest.raises(MalformedInput):
        verify_file(corpus.path(name), Policy(AMD64))


def test_missing_file():
    with pytest.raises(MalformedInput, match="cannot read"):
        verify_file("/nonexistent/file", Policy(AMD64))


def test_mutated_headers_never_crash(corpus):
    with open(corpus.path("musl-static"), "rb") as fh:
        data = bytearray(fh.read())
    import random
    rng = random.Random(7)
    for _ in range(300):
        mutated = bytearray(data[:4096])
        for _ in range(8):
            mutated[rng.randrange(4, len(mutated))] = rng.randrange(256)
        try:
            verify_bytes("m", bytes(mutated), Policy(AMD64))
        except MalformedInput:
            pass


def test_a_gnu_libstdcxx_archive_is_named_and_refused_for_libcxx(corpus):
    """g++ against glibc: the glibc references say so, and for a link with zig's libc++ the std::__cxx11 names too."""
    report = verify_file(corpus.path("libgxx.a"), Policy(AMD64, cxx_runtime="libc++"))
    assert {"archive.glibc-refs", "archive.cxx-runtime"} <= set(failed(report))
    by_check = {f.check: f for f in report.failures}
    assert "g++ against glibc's headers and GNU libstdc++" in by_check["archive.glibc-refs"].reason
    assert "__cxx11" in by_check["archive.cxx-runtime"].evidence
    assert verify_file(corpus.path("libzigxx.a"), Policy(AMD64, cxx_runtime="libc++")).ok


def test_the_member_reader_finds_what_pyelftools_finds(corpus):
    """Archive members are read with struct alone (elf.read_object); on real objects of gcc, g++, musl-gcc and
    zig (C and C++), and on zig's libc.a of every architecture in the tests' caches, it finds the same identity and
    the same defined and undefined names as the full pyelftools reader."""
    import glob
    from conftest import CACHE_ROOT
    from sconsrules.verify.archive import read_archive
    from sconsrules.verify.elf import read_elf, read_object
    paths = [corpus.path(n) for n in ("libmusl.a", "libglibc.a", "libgxx.a", "libzigxx.a")]
    paths += sorted(glob.glob(os.path.join(CACHE_ROOT, "zig", "o", "*", "libc.a")))[:6]
    members = 0
    for path in paths:
        with open(path, "rb") as fh:
            archive = read_archive(fh.read())
        for member in archive[:150]:
            if not member.data.startswith(b"\x7fELF"):
                continue
            lean, full = read_object(member.data), read_elf(member.data)
            for field in ("elf_class", "little_endian", "machine", "elf_type", "program_headers", "symbols",
                          "undefined"):
                assert getattr(lean, field) == getattr(full, field), (path, member.name, field)
            members += 1
    assert members > 100


def test_leak_prefixes_inside_another_are_not_searched_again_and_the_same_paths_are_found():
    from sconsrules.verify.checks import find_paths, outermost

    assert outermost(["/home/u/.cache/zig", "/home/u/", "/home/u-old", "/opt/go", "/", "/opt/go/pkg"]) == \
        ["/home/u", "/home/u-old", "/opt/go"]
    data = b"\x00/home/u/.cache/zig/o/x.h\x00/home/u-old/a\x00/home/user/b\x00/opt/gopher\x00/tmp/go-build123/c\x00"
    found = ["/home/u-old/a", "/home/u/.cache/zig/o/x.h", "/tmp/go-build123/c"]
    assert find_paths(data, ["/home/u", "/home/u/.cache/zig", "/home/u-old", "/opt/go"]) == found
