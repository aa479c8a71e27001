"""A corpus of binaries and archives built on the fly with real compilers, each with what a correct
verifier must say about it. Shared by the tests and docs/compare_tools.py (file vs ldd vs ours)."""
import os
import shutil
import subprocess

HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'
LOOKUP = '#include <netdb.h>\nint main(void) { struct addrinfo *r; return getaddrinfo("localhost", 0, 0, &r); }\n'
FORTIFIED = '#include <stdio.h>\nvoid f(char *b, int n) { snprintf(b, 8, "%d", n); }\n'
GO_MAIN = 'package main\n\n// #include <stdio.h>\n// static void hi(void) { puts("hi"); }\nimport "C"\n\nfunc main() { C.hi() }\n'
GO_PURE = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n'


def zig_exe():
    from sconsrules.configure.toolchains.zig import ZigToolchain
    return ZigToolchain().exe


def _sh(*argv, cwd, env=None):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, env=env)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


def _go(d, out, src, goarch, cc=None, trimpath=True, strip=True):
    pkg = os.path.join(d, "gomod-" + out)
    _write(os.path.join(pkg, "go.mod"), "module example.com/corpus\n\ngo 1.22\n")
    _write(os.path.join(pkg, "main.go"), src)
    env = dict(os.environ, GOOS="linux", GOARCH=goarch, GOFLAGS="", GOTOOLCHAIN="local",
               CGO_ENABLED="1" if cc else "0", CGO_CFLAGS="-O2", CGO_LDFLAGS="")
    if cc:
        env["CC"] = cc
    ldflags = ["-s", "-w"] if strip else []
    if cc:
        ldflags += ["-linkmode=external", "'-extldflags=-static" + (" -s'" if strip else "'")]
    argv = ["go", "build", "-buildvcs=false"] + (["-trimpath"] if trimpath else []) + \
        ["-ldflags=" + " ".join(ldflags), "-o", os.path.join(d, out), "."]
    _sh(*argv, cwd=pkg, env=env)


def build_corpus(d):
    """Build every corpus file into `d`; return d."""
    for name, text in [("hello.c", HELLO), ("lookup.c", LOOKUP), ("fort.c", FORTIFIED)]:
        _write(os.path.join(d, name), text)
    gcc, musl, zig = shutil.which("gcc"), shutil.which("musl-gcc"), zig_exe()
    _sh(gcc, "-O2", "hello.c", "-o", "glibc-dynamic", cwd=d)
    _sh(gcc, "-O2", "-static", "lookup.c", "-o", "glibc-static-nss", cwd=d)
    _sh(musl, "-O2", "-static", "hello.c", "-o", "musl-static", cwd=d)
    _sh(musl, "-O2", "-static", "-s", "hello.c", "-o", "musl-static-stripped", cwd=d)
    _sh(musl, "-O2", "-static-pie", "hello.c", "-o", "musl-gcc-static-pie", cwd=d)
    _sh(zig, "cc", "-target", "x86_64-linux-musl", "-O2", "-static-pie", "-fPIE", "hello.c", "-o", "zig-static-pie", cwd=d)
    _sh(zig, "cc", "-target", "aarch64-linux-musl", "-O2", "-static", "-s", "hello.c", "-o", "zig-arm64", cwd=d)
    _sh(gcc, "-O2", "-D_FORTIFY_SOURCE=2", "-c", "fort.c", "-o", "fort-glibc.o", cwd=d)
    _sh("ar", "rcsD", "libglibc.a", "fort-glibc.o", cwd=d)
    _sh(musl, "-O2", "-c", "fort.c", "-o", "fort-musl.o", cwd=d)
    _sh("ar", "rcsD", "libmusl.a", "fort-musl.o", cwd=d)
    _sh("ar", "rcsU", "libnondet.a", "fort-musl.o", cwd=d)
    zig_arm = f"{zig} cc -target aarch64-linux-musl"
    zig_amd = f"{zig} cc -target x86_64-linux-musl"
    _go(d, "go-cgo-arm64", GO_MAIN, "arm64", cc=zig_arm)
    _go(d, "go-cgo-unstripped", GO_MAIN, "amd64", cc=zig_amd, strip=False)
    _go(d, "go-pure-no-trimpath", GO_PURE, "amd64", trimpath=False)
    with open(os.path.join(d, "musl-static"), "rb") as fh:
        data = fh.read()
    with open(os.path.join(d, "truncated"), "wb") as fh:
        fh.write(data[:100])
    with open(os.path.join(d, "random"), "wb") as fh:
        fh.write(os.urandom(4096))
    return d


# What a correct verifier says. (file, platform, policy options, failing checks, link type, libc);
# "{zig}" and "{corpus}" in leak paths are filled in by the test.
EXPECTED = [
    ("glibc-dynamic", "linux/amd64", {}, ["libc", "link.interp", "link.needed", "link.static"], "dynamic", "glibc"),
    ("glibc-static-nss", "linux/amd64", {}, ["libc", "libc.nss"], "static", "glibc"),
    ("musl-static", "linux/amd64", {}, [], "static", "musl"),
    ("musl-static", "linux/amd64", {"stripped": True}, ["stripped"], "static", "musl"),
    ("musl-static-stripped", "linux/amd64", {"stripped": True}, [], "static", "musl"),  # by its _start
    ("musl-gcc-static-pie", "linux/amd64", {}, ["link.interp", "link.needed", "link.static"], "dynamic", "musl"),
    ("zig-static-pie", "linux/amd64", {}, [], "static-pie", None),
    ("zig-arm64", "linux/arm64", {"stripped": True}, [], "static", None),
    ("zig-arm64", "linux/amd64", {}, ["identity.code", "identity.machine"], "static", None),
    ("musl-static", "linux/arm64", {}, ["identity.code", "identity.machine"], "static", "musl"),
    ("go-cgo-arm64", "linux/arm64", {"stripped": True, "go": True, "cgo": True, "trimpath": True,
                                     "leak_paths": ("{corpus}", "{zig}")}, [], "static", None),
    ("go-cgo-arm64", "linux/amd64", {"go": True}, ["go.goarch", "identity.code", "identity.machine"], "static", None),
    ("go-cgo-unstripped", "linux/amd64", {"stripped": True, "leak_paths": ("{zig}",)},
     ["leaks.dwarf", "stripped"], "static", None),
    ("go-pure-no-trimpath", "linux/amd64", {"go": True, "cgo": True, "trimpath": True, "leak_paths": ("{corpus}",)},
     ["go.cgo", "go.trimpath", "leaks.strings", "libc"], "static", "unknown"),
]
