"""Archives that Go modules link through their own `#cgo LDFLAGS`: found with `go list`, verified before the link,
named with their module when they are not musl builds for the platform."""
import os
import shutil
import subprocess

import pytest

from conftest import require, run_binary

pytestmark = pytest.mark.integration

SCONSTRUCT = 'env = Environment(tools=["default", "sconsrules"])\nSConscript("SConscript", exports="env")\n'
GOZSTD_MAIN = '''package main

import (
\t"fmt"

\t"github.com/valyala/gozstd"
)

func main() {
\tc := gozstd.Compress(nil, []byte("hello hello hello"))
\td, err := gozstd.Decompress(nil, c)
\tfmt.Println(string(d), err)
}
'''


def test_a_real_module_with_prebuilt_archives_picks_its_musl_ones(project):
    """gozstd v1.20.1 ships glibc and musl builds of libzstd; the default `musl` tag selects the latter."""
    require("zig")
    require("go")
    project.write("SConstruct", SCONSTRUCT)
    project.write("SConscript", 'Import("env")\nenv.GoCgoBinary("z", platforms=["linux/amd64", "linux/arm64"], '
                  'toolchain="zig")\n')
    project.write("go.mod", "module example.com/z\n\ngo 1.22\n\nrequire github.com/valyala/gozstd v1.20.1\n")
    project.write("main.go", GOZSTD_MAIN)
    subprocess.run(["go", "mod", "tidy"], cwd=project.root, check=True, capture_output=True,
                   env=dict(os.environ, GOFLAGS="-mod=mod"))
    project.scons()
    for platform, config in (("linux/amd64", "linux-amd64-musl-zig"), ("linux/arm64", "linux-arm64-musl-zig")):
        result = run_binary(project.path("build", config, "z"), platform)
        assert result.stdout == "hello hello hello <nil>\n", result.stderr


def local_module_project(project, name, version, go_source, c_name, c_source, call):
    """An app that imports module example.com/<name> (a local one, through replace), whose package links a prebuilt
    archive through its own #cgo LDFLAGS; returns the module's directory."""
    project.write("SConstruct", SCONSTRUCT)
    project.write("SConscript", 'Import("env")\nenv.GoCgoBinary("app", platforms=["linux/amd64"], toolchain="zig")\n')
    project.write("go.mod", f"module example.com/app\n\ngo 1.22\n\nrequire example.com/{name} {version}\n\n"
                  f"replace example.com/{name} => ./third/{name}\n")
    project.write("main.go", f'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/{name}"\n)\n\n'
                  f"func main() {{ fmt.Println({call}) }}\n")
    project.write(f"third/{name}/go.mod", f"module example.com/{name}\n\ngo 1.22\n")
    project.write(f"third/{name}/{name}.go", go_source)
    project.write(f"third/{name}/{c_name}", c_source)
    return project.path("third", name)


def prebuilt(directory, compile_argv, source, archive):
    """The module's archive, compiled by `compile_argv` from `source` and archived deterministically."""
    subprocess.run(compile_argv + ["-c", source, "-o", "fast.o"], cwd=directory, check=True)
    subprocess.run(["ar", "rcsD", archive, "fast.o"], cwd=directory, check=True)
    os.remove(os.path.join(directory, "fast.o"))


FAST_GO = '''package fast

// #cgo LDFLAGS: ${SRCDIR}/libfast_linux_amd64.a
// int fast_add(int a, int b);
import "C"

func Add(a, b int) int { return int(C.fast_add(C.int(a), C.int(b))) }
'''
FAST_C = '''#include <stdio.h>
#include <string.h>
int fast_add(int a, int b) { char t[16]; snprintf(t, (size_t)a + 8, "%d", b); return a + b + (int)strlen(t) - 2; }
'''


def test_a_modules_glibc_archive_is_named_before_the_link_and_the_fix_builds(project):
    """A module (here a local one, through replace) that links a prebuilt glibc archive: zig would link it and
    the binary would pass every check (lld drops the dead glibc references); the build stops first."""
    require("zig")
    gcc = require("gcc")
    fast = local_module_project(project, "fast", "v0.0.0", FAST_GO, "fast.c.txt", FAST_C, "fast.Add(2, 40)")
    prebuilt(fast, [gcc, "-O2", "-D_FORTIFY_SOURCE=2", "-x", "c"], "fast.c.txt", "libfast_linux_amd64.a")
    result = project.scons(check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert ("GoCgoBinary 'app': [linux-amd64-musl-zig] module example.com/fast@v0.0.0: libfast_linux_amd64.a, linked by "
            "its #cgo LDFLAGS, fails verification: archive.glibc-refs") in result.stderr
    assert "__snprintf_chk" in result.stderr and "build the library from source with ForeignCLib" in result.stderr
    assert not os.path.exists(project.path("build", "linux-amd64-musl-zig", "app"))
    # The module's archive rebuilt for musl (an input of the build: the change is seen) links and runs.
    zig = require("zig")
    prebuilt(fast, [zig, "cc", "-target", "x86_64-linux-musl", "-O2", "-x", "c"], "fast.c.txt", "libfast_linux_amd64.a")
    project.scons()
    assert run_binary(project.path("build", "linux-amd64-musl-zig", "app"), "linux/amd64").stdout == "42\n"
    # A relink runs go list beside go build (execute/golinks.py:link): the glibc archive is still named, as the
    # step's error, and the binary built before is gone from its path, not kept unverified.
    prebuilt(fast, [gcc, "-O2", "-D_FORTIFY_SOURCE=2", "-x", "c"], "fast.c.txt", "libfast_linux_amd64.a")
    result = project.scons(check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert ("module example.com/fast@v0.0.0: libfast_linux_amd64.a, linked by its #cgo LDFLAGS, fails verification: "
            "archive.glibc-refs") in result.stderr
    assert not os.path.exists(project.path("build", "linux-amd64-musl-zig", "app"))
    prebuilt(fast, [zig, "cc", "-target", "x86_64-linux-musl", "-O2", "-x", "c"], "fast.c.txt", "libfast_linux_amd64.a")
    project.scons()
    assert run_binary(project.path("build", "linux-amd64-musl-zig", "app"), "linux/amd64").stdout == "42\n"


CGO_GO = '''package cfast

// int cfast_one(void);
import "C"

func One() int { return int(C.cfast_one()) }
'''


def test_a_relink_whose_listing_finds_other_module_c_links_again_with_the_manifest_a_clean_build_makes(project):
    """The manifest object of a relink is made from the last listing while go list runs beside go build; a
    module that now compiles other C files makes the listing differ, and the binary is linked again with the
    manifest that names them: the same one a build from nothing makes."""
    require("zig")
    from sconsrules.verify.manifest import read

    local_module_project(project, "cfast", "v0.0.0", CGO_GO, "one.c", "int cfast_one(void) { return 1; }\n",
                         "cfast.One()")
    binary = project.path("build", "linux-amd64-musl-zig", "app")
    project.scons()
    before = read(binary)["go_modules_c"]
    assert [m["module"] for m in before] == ["example.com/cfast"]
    project.write("third/cfast/two.c", "int cfast_two(void) { return 2; }\n")
    project.write("main.go", project.read("main.go") + "\n// relinked\n")
    links = project.scons("--subcommands").stdout.count("go build -trimpath ")
    relinked = read(binary)
    assert relinked["go_modules_c"] != before and links == 2
    assert run_binary(binary, "linux/amd64").stdout == "1\n"
    project.write("main.go", project.read("main.go") + "\n// again\n")  # the same listing: one link
    assert project.scons("--subcommands").stdout.count("go build -trimpath ") == 1
    assert read(binary) == relinked
    shutil.rmtree(project.path("build"))
    os.remove(project.path(".sconsign.dblite"))
    project.scons()
    assert read(binary) == relinked


CXX_GO = '''package fastxx

// #cgo LDFLAGS: ${SRCDIR}/libfastxx.a
// int fast_len(int n);
import "C"

func Len(n int) int { return int(C.fast_len(C.int(n))) }
'''
CXX_CC = '''#include <string>
#include <cstdio>
extern "C" int fast_len(int n) { char t[32]; std::string s = std::to_string(n); snprintf(t, (size_t)n, "%s", s.c_str()); return (int)s.size(); }
'''


def test_a_modules_prebuilt_gnu_cxx_archive_is_named_as_such(project):
    """What go-duckdb v1.8.5 ships (deps/linux_amd64/libduckdb.a, 88 MB: g++, libstdc++, glibc), in small: the
    build names the module, the archive and the cause instead of a wall of undefined symbols."""
    require("zig")
    gxx = require("g++")
    fast = local_module_project(project, "fastxx", "v0.1.0", CXX_GO, "fast.cc.txt", CXX_CC, "fastxx.Len(12345)")
    prebuilt(fast, [gxx, "-O2", "-D_FORTIFY_SOURCE=2", "-x", "c++"], "fast.cc.txt", "libfastxx.a")
    result = project.scons(check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert ("module example.com/fastxx@v0.1.0: libfastxx.a, linked by its #cgo LDFLAGS, fails verification: "
            "archive.glibc-refs: member fast.o: compiled with g++ against glibc's headers and GNU libstdc++") \
        in result.stderr
    assert "undefined symbol" not in result.output
