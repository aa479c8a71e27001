"""ForeignCLib across architectures and languages: cmake told it cross-compiles (toolchain file), an Autoconf
configure given --host, the host's libraries kept out of find_*, and a real C++ library wrapped for Go. Real
sources come from the Debian archive this machine's apt is configured with (no host is named here)."""
import json
import os
import subprocess

import pytest

from conftest import require, run_binary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLATFORMS = (("linux/amd64", "linux-amd64-musl-zig"), ("linux/arm64", "linux-arm64-musl-zig"))
SCONSTRUCT = ('env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS=["linux/amd64", '
              '"linux/arm64"], SCONSRULES_TOOLCHAIN="zig")\nSConscript("SConscript", exports="env")\n')


def pool_urls(path):
    from sconsrules import apt_mirrors
    mirrors = apt_mirrors()
    assert mirrors, "these sources come from the Debian archive apt is configured with (/etc/apt/sources.list*)"
    return [f"{m}/pool/main/{path}" for m in mirrors]


PROBE_CMAKE = '''cmake_minimum_required(VERSION 3.13)
project(probe C)
find_library(HOST_Z z)
if(HOST_Z)
  message(FATAL_ERROR "find_library found this machine's ${HOST_Z}")
endif()
if(CMAKE_CROSSCOMPILING)
  set(CROSS 1)
else()
  set(CROSS 0)
endif()
add_library(probe STATIC probe.c)
target_compile_definitions(probe PRIVATE PROCESSOR="${CMAKE_SYSTEM_PROCESSOR}" CROSS=${CROSS})
install(TARGETS probe ARCHIVE DESTINATION lib)
install(FILES probe.h DESTINATION include)
'''
PROBE_GO = '''package main

// #include "probe.h"
import "C"

import "fmt"

func main() { fmt.Println(C.GoString(C.probe())) }
'''


def test_cmake_knows_the_target_and_never_finds_the_hosts_libraries(project, tmp_path):
    require("zig")
    require("cmake")
    project.write("SConstruct", SCONSTRUCT)
    project.write("probe/CMakeLists.txt", PROBE_CMAKE)
    project.write("probe/probe.h", "const char *probe(void);\n")
    project.write("probe/probe.c", '#include <stdio.h>\nconst char *probe(void) { static char b[64]; '
                  'snprintf(b, sizeof b, "%s cross=%d", PROCESSOR, CROSS); return b; }\n')
    project.write("go.mod", "module example.com/probe\n\ngo 1.22\n")
    project.write("main.go", PROBE_GO)
    project.write("SConscript", 'Import("env")\np = env.ForeignCLib("probe", source="probe", build="cmake", '
                  'outputs=["lib/libprobe.a"])\nenv.GoCgoBinary("app", cdeps=[p])\n')
    project.scons()
    want = {"linux/amd64": "x86_64 cross=0\n", "linux/arm64": "aarch64 cross=1\n"}
    for platform, config in PLATFORMS:
        assert run_binary(project.path("build", config, "app"), platform).stdout == want[platform]
        foreign = project.path("build", config, "_foreign")
        assert "probe" in os.listdir(foreign) and "probe.work" not in os.listdir(foreign)  # scratch copy: gone
    # cmake's own compile commands reach compile_commands.json: the pristine source, the real compiler, each
    # entry compiling as written (generated files of the scratch build directory aside, which probe has none of)
    with open(project.path("build", "compile_commands.json")) as fh:
        probes = [e for e in json.load(fh) if e["file"] == project.path("probe", "probe.c")]
    assert sorted(e["arguments"][3] for e in probes) == ["aarch64-linux-musl", "x86_64-linux-musl"]
    for entry in probes:
        assert ".work" not in " ".join(entry["arguments"]) or "-ffile-prefix-map=" in " ".join(entry["arguments"])
        argv = list(entry["arguments"])
        del argv[argv.index("-o"):argv.index("-o") + 2]
        obj = str(tmp_path / "probe.o")
        proc = subprocess.run(argv + ["-o", obj], cwd=entry["directory"], capture_output=True, text=True)
        assert proc.returncode == 0 and os.path.getsize(obj) > 0, proc.stderr


FFI_GO = '''package main

// #include <ffi.h>
// static int add(int a, int b) { return a + b; }
// static int call_add(int a, int b) {
//   ffi_cif cif; ffi_type *args[2] = {&ffi_type_sint, &ffi_type_sint}; void *values[2] = {&a, &b}; ffi_arg r;
//   if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, args) != FFI_OK) return -1;
//   ffi_call(&cif, FFI_FN(add), &r, values);
//   return (int)r;
// }
import "C"

import "fmt"

func main() { fmt.Println("ffi:", C.call_add(40, 2)) }
'''


def test_an_autoconf_library_cross_compiles_with_host(project):
    """libffi 3.4.4's configure runs test programs unless told --host: for arm64 it would fail without it."""
    require("zig")
    project.write("SConstruct", SCONSTRUCT)
    project.write("go.mod", "module example.com/ffi\n\ngo 1.22\n")
    project.write("main.go", FFI_GO)
    project.write("SConscript", f'''Import("env")
src = env.SourceArchive("libffi-3.4.4", urls={pool_urls("libf/libffi/libffi_3.4.4.orig.tar.gz")!r},
                        sha256="d66c56ad259a82cf2a9dfc408b32bf5da52371500b84745f7fb8b645712df676",
                        strip_prefix="libffi-3.4.4")
ffi = env.ForeignCLib("ffi", source=src, configure_args=["--disable-shared", "--enable-static", "--disable-docs",
                      "--disable-exec-static-tramp",  # 3.4.4 with clang >= 16 (zig): open_temp_exec_file undeclared
                      "--disable-multi-os-directory"], outputs=["lib/libffi.a"])
env.GoCgoBinary("app", cdeps=[ffi])
''')
    project.scons()
    for platform, config in PLATFORMS:
        assert run_binary(project.path("build", config, "app"), platform).stdout == "ffi: 42\n"


FMT_WRAPPER_H = '''#ifdef __cplusplus
extern "C" {
#endif
/* Formats "{} + {} = {}" with fmt into buf; returns the length. */
int fmt_sum(char *buf, int size, int a, int b);
#ifdef __cplusplus
}
#endif
'''
FMT_WRAPPER_CC = '''#include <fmt/format.h>
#include <cstring>
#include "fmt_wrap.h"

extern "C" int fmt_sum(char *buf, int size, int a, int b) {
  std::string s = fmt::format("{} + {} = {:>4}", a, b, a + b);
  std::strncpy(buf, s.c_str(), size);
  return static_cast<int>(s.size());
}
'''
FMT_GO = '''package main

// #include "fmt_wrap.h"
import "C"

import (
\t"fmt"
\t"unsafe"
)

func main() {
\tbuf := make([]byte, 64)
\tn := C.fmt_sum((*C.char)(unsafe.Pointer(&buf[0])), 64, 40, 2)
\tfmt.Println(string(buf[:n]))
}
'''


def test_a_cxx_library_built_by_cmake_is_wrapped_for_go(project):
    """fmt 9.1.0 (C++) built by its own cmake with zig's C++ compiler, wrapped through extern "C" in a C++
    StaticCLib, linked statically with libc++ into a Go binary, on both architectures."""
    require("zig")
    require("cmake")
    project.write("SConstruct", SCONSTRUCT)
    project.write("go.mod", "module example.com/fmtapp\n\ngo 1.22\n")
    project.write("main.go", FMT_GO)
    project.write("wrap/fmt_wrap.h", FMT_WRAPPER_H)
    project.write("wrap/fmt_wrap.cc", FMT_WRAPPER_CC)
    project.write("SConscript", f'''Import("env")
src = env.SourceArchive("fmtlib-9.1.0", urls={pool_urls("f/fmtlib/fmtlib_9.1.0+ds1.orig.tar.gz")!r},
                        sha256="84ce1c2d0be3a9863935137969dcec6970125caac032f82474640bfc81463583",
                        strip_prefix="fmtlib-9.1.0+ds1")
fmt = env.ForeignCLib("fmt", source=src, build="cmake", configure_args=["-DFMT_TEST=OFF", "-DFMT_DOC=OFF"],
                      outputs=["lib/libfmt.a"], cxx=True)
wrap = env.StaticCLib("fmtwrap", srcs=["wrap/fmt_wrap.cc"], hdrs=["wrap/fmt_wrap.h"], includes=["wrap"],
                      deps=[fmt], cxxopts=["-std=c++17"])
env.GoCgoBinary("app", cdeps=[wrap])
''')
    project.scons()
    for platform, config in PLATFORMS:
        assert run_binary(project.path("build", config, "app"), platform).stdout == "40 + 2 =   42\n"
