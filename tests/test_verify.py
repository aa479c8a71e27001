"""The verifier against a corpus built on the fly with the real compilers."""
import os
import subprocess

import pytest

from conftest import require
from sconsrules.platform import Platform
from sconsrules.verify import MalformedInput, Policy, verify_bytes, verify_file

HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'
LOOKUP = '#include <netdb.h>\nint main(void) { struct addrinfo *r; return getaddrinfo("localhost", 0, 0, &r); }\n'
FORTIFIED = '#include <stdio.h>\nvoid f(char *b, int n) { snprintf(b, 8, "%d", n); }\n'
AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")


def sh(*argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("corpus"))
    for name, text in [("hello.c", HELLO), ("lookup.c", LOOKUP), ("fort.c", FORTIFIED)]:
        with open(os.path.join(d, name), "w") as fh:
            fh.write(text)
    gcc, musl = require("gcc"), require("musl-gcc")
    zig = require("zig")
    sh(gcc, "-O2", "hello.c", "-o", "glibc-dynamic", cwd=d)
    sh(gcc, "-O2", "-static", "lookup.c", "-o", "glibc-static-nss", cwd=d)
    sh(musl, "-O2", "-static", "hello.c", "-o", "musl-static", cwd=d)
    sh(musl, "-O2", "-static", "-s", "hello.c", "-o", "musl-static-stripped", cwd=d)
    sh(musl, "-O2", "-static-pie", "hello.c", "-o", "musl-gcc-static-pie", cwd=d)
    sh(zig, "cc", "-target", "x86_64-linux-musl", "-O2", "-static-pie", "-fPIE", "hello.c", "-o", "zig-static-pie", cwd=d)
    sh(zig, "cc", "-target", "aarch64-linux-musl", "-O2", "-static", "-s", "hello.c", "-o", "zig-arm64", cwd=d)
    sh(gcc, "-O2", "-D_FORTIFY_SOURCE=2", "-c", "fort.c", "-o", "fort-glibc.o", cwd=d)
    sh("ar", "rcsD", "libglibc.a", "fort-glibc.o", cwd=d)
    sh(musl, "-O2", "-c", "fort.c", "-o", "fort-musl.o", cwd=d)
    sh("ar", "rcsD", "libmusl.a", "fort-musl.o", cwd=d)
    sh("ar", "rcsU", "libnondet.a", "fort-musl.o", cwd=d)
    with open(os.path.join(d, "musl-static"), "rb") as fh:
        data = fh.read()
    with open(os.path.join(d, "truncated"), "wb") as fh:
        fh.write(data[:100])
    with open(os.path.join(d, "random"), "wb") as fh:
        fh.write(os.urandom(4096))
    return d


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
