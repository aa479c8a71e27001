"""A corpus of binaries and archives built on the fly with real compilers, each with what a correct
verifier must say about it. Shared by the tests and docs/compare_tools.py (file vs ldd vs ours)."""
import os
import shutil
import subprocess

HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'
LOOKUP = '#include <netdb.h>\nint main(void) { struct addrinfo *r; return getaddrinfo("localhost", 0, 0, &r); }\n'
CXX_LIB = ('#include <string>\n#include <cstdio>\n#include <cstring>\nextern "C" int greet(char *b, int n) '
           '{ char t[16]; std::string s = "hi " + std::to_string(n); int r = snprintf(t, (size_t)n, "%s", s.c_str()); '
           'memcpy(b, t, 8); return r; }\n')
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


def _c(tool, *args):
    """A recipe step: the C sources are written first; `tool` is looked up when the step runs."""
    return (tool,) + args


HOST_TOOLS = {"gcc": lambda: shutil.which("gcc"), "g++": lambda: shutil.which("g++"), "musl-gcc": lambda: shutil.which("musl-gcc"), "zig": zig_exe,
              "ar": lambda: shutil.which("ar"), "go": lambda: shutil.which("go")}
# name -> (tools it needs, steps); a step is (tool, args...) run in the corpus directory, or a function of it.
RECIPES = {
    "glibc-dynamic": (("gcc",), [_c("gcc", "-O2", "hello.c", "-o", "glibc-dynamic")]),
    "glibc-static-nss": (("gcc",), [_c("gcc", "-O2", "-static", "lookup.c", "-o", "glibc-static-nss")]),
    "musl-static": (("musl-gcc",), [_c("musl-gcc", "-O2", "-static", "hello.c", "-o", "musl-static")]),
    "musl-static-stripped": (("musl-gcc",), [_c("musl-gcc", "-O2", "-static", "-s", "hello.c", "-o",
                                                "musl-static-stripped")]),
    "musl-gcc-static-pie": (("musl-gcc",), [_c("musl-gcc", "-O2", "-static-pie", "hello.c", "-o",
                                               "musl-gcc-static-pie")]),
    "zig-static-pie": (("zig",), [_c("zig", "cc", "-target", "x86_64-linux-musl", "-O2", "-static-pie", "-fPIE",
                                     "hello.c", "-o", "zig-static-pie")]),
    "zig-arm64": (("zig",), [_c("zig", "cc", "-target", "aarch64-linux-musl", "-O2", "-static", "-s", "hello.c",
                                "-o", "zig-arm64")]),
    "glibc-static-stripped": (("gcc",), [_c("gcc", "-O2", "-static", "-s", "hello.c", "-o", "glibc-static-stripped")]),
    "zig-amd64-stripped": (("zig",), [_c("zig", "cc", "-target", "x86_64-linux-musl", "-O2", "-static", "-s",
                                         "hello.c", "-o", "zig-amd64-stripped")]),
    "fort-glibc.o": (("gcc",), [_c("gcc", "-O2", "-D_FORTIFY_SOURCE=2", "-c", "fort.c", "-o", "fort-glibc.o")]),
    "fort-musl.o": (("musl-gcc",), [_c("musl-gcc", "-O2", "-c", "fort.c", "-o", "fort-musl.o")]),
    "libgxx.a": (("g++", "ar"), [_c("g++", "-O2", "-D_FORTIFY_SOURCE=2", "-c", "greet.cc", "-o", "greet-gxx.o"),
                                 _c("ar", "rcsD", "libgxx.a", "greet-gxx.o")]),
    "libzigxx.a": (("zig", "ar"), [_c("zig", "c++", "-target", "x86_64-linux-musl", "-O2", "-c", "greet.cc", "-o",
                                      "greet-zig.o"), _c("ar", "rcsD", "libzigxx.a", "greet-zig.o")]),
    "libglibc.a": (("gcc", "ar"), ["fort-glibc.o", _c("ar", "rcsD", "libglibc.a", "fort-glibc.o")]),
    "libmusl.a": (("musl-gcc", "ar"), ["fort-musl.o", _c("ar", "rcsD", "libmusl.a", "fort-musl.o")]),
    "libnondet.a": (("musl-gcc", "ar"), ["fort-musl.o", _c("ar", "rcsU", "libnondet.a", "fort-musl.o")]),
    "go-cgo-arm64": (("go", "zig"), [lambda d: _go(d, "go-cgo-arm64", GO_MAIN, "arm64",
                                                   cc=f"{zig_exe()} cc -target aarch64-linux-musl")]),
    "go-cgo-unstripped": (("go", "zig"), [lambda d: _go(d, "go-cgo-unstripped", GO_MAIN, "amd64",
                                                        cc=f"{zig_exe()} cc -target x86_64-linux-musl", strip=False)]),
    "go-pure-no-trimpath": (("go",), [lambda d: _go(d, "go-pure-no-trimpath", GO_PURE, "amd64", trimpath=False)]),
    "truncated": (("musl-gcc",), ["musl-static", lambda d: _copy_head(d, "musl-static", "truncated", 100)]),
    "random": ((), [lambda d: _random(d, "random")]),
}


def _copy_head(d, src, dst, size):
    with open(os.path.join(d, src), "rb") as fh:
        data = fh.read(size)
    with open(os.path.join(d, dst), "wb") as fh:
        fh.write(data)


def _random(d, name):
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(os.urandom(4096))


def build_file(d, name, require=None):
    """Build one corpus file into `d` (and what it is made from), needing only its own tools; `require(tool)`
    is called for each (the tests' skip-or-fail). Returns its path."""
    path = os.path.join(d, name)
    if os.path.exists(path):
        return path
    tools, steps = RECIPES[name]
    for tool in tools:
        if require:
            require(tool)
    for src, text in [("hello.c", HELLO), ("lookup.c", LOOKUP), ("fort.c", FORTIFIED), ("greet.cc", CXX_LIB)]:
        if not os.path.exists(os.path.join(d, src)):
            _write(os.path.join(d, src), text)
    for step in steps:
        if isinstance(step, str):
            build_file(d, step, require)
        elif callable(step):
            step(d)
        else:
            _sh(HOST_TOOLS[step[0]](), *step[1:], cwd=d)
    return path


def build_corpus(d):
    """Build every corpus file into `d`; return d."""
    for name in RECIPES:
        build_file(d, name)
    return d


class Corpus(str):
    """The corpus directory; `path(name)` builds the file on first use, with only the compilers it needs."""

    def __new__(cls, directory, require):
        self = super().__new__(cls, directory)
        self.require = require
        return self

    def path(self, name):
        return build_file(str(self), name, self.require)


# What a correct verifier says. (file, platform, policy options, failing checks, link type, libc);
# "{zig}" and "{corpus}" in leak paths are filled in by the test.
EXPECTED = [
    ("glibc-dynamic", "linux/amd64", {}, ["libc", "link.interp", "link.needed", "link.static"], "dynamic", "glibc"),
    ("glibc-static-nss", "linux/amd64", {}, ["libc", "libc.nss"], "static", "glibc"),
    # Debian's libc.a keeps the DWARF of its own build: an absolute path outside the allow-list, unless allowed
    ("musl-static", "linux/amd64", {}, ["leaks.dwarf"], "static", "musl"),
    ("musl-static", "linux/amd64", {"dwarf_allow": ("/build/",)}, [], "static", "musl"),
    ("musl-static", "linux/amd64", {"stripped": True, "dwarf_allow": ("/build/",)}, ["stripped"], "static", "musl"),
    ("musl-static-stripped", "linux/amd64", {"stripped": True}, [], "static", "musl"),  # by its _start
    ("musl-gcc-static-pie", "linux/amd64", {"dwarf_allow": ("/build/",)}, ["link.interp", "link.needed", "link.static"],
     "dynamic", "musl"),
    # zig's libc from its shared cache: DWARF naming the ziglang install and the first filler's directory
    ("zig-static-pie", "linux/amd64", {}, ["leaks.dwarf"], "static-pie", None),
    ("zig-arm64", "linux/arm64", {"stripped": True}, [], "static", None),
    ("zig-arm64", "linux/amd64", {}, ["identity.code", "identity.machine"], "static", None),
    ("musl-static", "linux/arm64", {}, ["identity.code", "identity.machine", "leaks.dwarf"], "static", "musl"),
    ("go-cgo-arm64", "linux/arm64", {"stripped": True, "go": True, "cgo": True, "trimpath": True,
                                     "leak_paths": ("{corpus}", "{zig}")}, [], "static", None),
    ("go-cgo-arm64", "linux/amd64", {"go": True}, ["go.goarch", "identity.code", "identity.machine"], "static", None),
    ("go-cgo-unstripped", "linux/amd64", {"stripped": True, "leak_paths": ("{zig}",)},
     ["leaks.dwarf", "stripped"], "static", None),
    ("go-pure-no-trimpath", "linux/amd64", {"go": True, "cgo": True, "trimpath": True, "leak_paths": ("{corpus}",)},
     ["go.cgo", "go.trimpath", "leaks.strings", "libc"], "static", "unknown"),
]
