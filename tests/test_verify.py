"""The verifier against a corpus built on the fly with the real compilers."""
import os

import pytest

from sconsrules.platform import Platform
from sconsrules.verify import MalformedInput, Policy, verify_bytes, verify_file

AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def failed(report):
    return sorted({f.check for f in report.failures})


# (file, platform, policy options, expected failing checks, link type, libc)
CASES = [
    ("glibc-dynamic", AMD64, {}, ["libc", "link.interp", "link.needed", "link.static"], "dynamic", "glibc"),
    ("glibc-static-nss", AMD64, {}, ["libc", "libc.nss"], "static", "glibc"),
    ("musl-static", AMD64, {}, [], "static", "musl"),
    ("musl-static", AMD64, {"stripped": True}, ["stripped"], "static", "musl"),
    ("musl-static-stripped", AMD64, {"stripped": True}, [], "static", None),
    ("musl-gcc-static-pie", AMD64, {}, ["link.interp", "link.needed", "link.static"], "dynamic", "musl"),
    ("zig-static-pie", AMD64, {}, [], "static-pie", None),
    ("zig-arm64", ARM64, {"stripped": True}, [], "static", None),
    ("zig-arm64", AMD64, {}, ["identity.machine"], "static", None),
    ("musl-static", ARM64, {}, ["identity.machine"], "static", "musl"),
]


@pytest.mark.parametrize("name, platform, options, failures, link, libc", CASES)
def test_corpus_executables(corpus, name, platform, options, failures, link, libc):
    report = verify_file(os.path.join(corpus, name), Policy(platform, **options))
    assert failed(report) == failures
    assert report.ok == (not failures)
    assert report.summary["link_type"] == link
    if libc:
        assert report.summary["libc"] == libc
    assert report.summary["libc"] != "glibc" or libc == "glibc"


def test_dynamic_is_allowed_when_not_static(corpus):
    report = verify_file(os.path.join(corpus, "musl-gcc-static-pie"), Policy(AMD64, static=False))
    assert report.ok


def test_evidence_names_the_cause(corpus):
    report = verify_file(os.path.join(corpus, "glibc-dynamic"), Policy(AMD64))
    evidence = {f.check: f.evidence for f in report.failures}
    assert evidence["link.needed"] == "NEEDED libc.so.6"
    assert "ld-linux" in evidence["link.interp"]


def test_archives(corpus):
    good = verify_file(os.path.join(corpus, "libmusl.a"), Policy(AMD64))
    assert good.ok and good.kind == "archive" and good.summary["members"] == 1
    glibc = verify_file(os.path.join(corpus, "libglibc.a"), Policy(AMD64))
    assert failed(glibc) == ["archive.glibc-refs"]
    assert "__snprintf_chk" in glibc.failures[0].evidence
    assert failed(verify_file(os.path.join(corpus, "libmusl.a"), Policy(ARM64))) == ["identity.machine"]
    assert failed(verify_file(os.path.join(corpus, "libnondet.a"), Policy(AMD64))) == ["archive.deterministic"]


@pytest.mark.parametrize("name", ["truncated", "random", "hello.c"])
def test_malformed_inputs_are_refused_cleanly(corpus, name):
    with pytest.raises(MalformedInput):
        verify_file(os.path.join(corpus, name), Policy(AMD64))


def test_missing_file():
    with pytest.raises(MalformedInput, match="cannot read"):
        verify_file("/nonexistent/file", Policy(AMD64))


def test_mutated_headers_never_crash(corpus):
    with open(os.path.join(corpus, "musl-static"), "rb") as fh:
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
