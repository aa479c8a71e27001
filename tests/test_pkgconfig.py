"""PkgConfigCLib on this machine: real pkg-config over a musl sysroot per architecture (made here with zig),
linked into cgo binaries that run natively and under qemu; freshness; and the refusals."""
import json
import os
import subprocess

import pytest

from conftest import IN_CI, require, run_binary

pytestmark = pytest.mark.integration

ARCHES = {"amd64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}

GREET_H = """#ifndef GREET_H
#define GREET_H
int greet(char *out, int cap, const char *who);
#endif
"""
SHOUT_C = """#include <ctype.h>
int shout(char *s) { int n = 0; for (; *s; s++, n++) *s = (char)toupper((unsigned char)*s); return n; }
"""
GREET_C = """#include <stdio.h>
#include "greet.h"
int shout(char *s);
int greet(char *out, int cap, const char *who) { snprintf(out, (size_t)cap, "%s, %s", WORD, who); return shout(out); }
"""
GREET_PC = """prefix=/usr
libdir=${{prefix}}/lib
includedir=${{prefix}}/include
Name: greet
Description: test library
Version: 1.0
Requires.private: shout
Cflags: -I${{includedir}}/greet -DGREET_TIMES={times}
Libs: -L${{libdir}} -lgreet
Libs.private: -lm
"""
SHOUT_PC = """prefix=/usr
libdir=${prefix}/lib
Name: shout
Description: test library
Version: 1.0
Libs: -L${libdir} -lshout
"""
DYNONLY_PC = """prefix=/usr
libdir=${prefix}/lib
Name: dynonly
Description: only a shared library
Version: 1.0
Libs: -L${libdir} -ldynonly
"""
MAIN_GO = """package main

/*
#include <greet.h>
int wrap_times(void);
static int times(void) { return GREET_TIMES; }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func main() {
	buf := make([]byte, 64)
	who := C.CString("world")
	n := C.greet((*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf)), who)
	fmt.Printf("%s x%d %d\\n", string(buf[:n]), int(C.times()), int(C.wrap_times()))
}
"""
WRAP_C = """#include <greet.h>
int wrap_times(void) { return GREET_TIMES * 10; }
"""
SCONSTRUCT = """env = Environment(tools=["default", "sconsrules"])
SYSROOT = {sysroot!r} + "/{{goarch}}"
greet = env.PkgConfigCLib("greet", module={module!r}, sysroot=SYSROOT, pkg_config_path=[SYSROOT + "/usr/lib/pkgconfig"])
wrap = env.StaticCLib("wrap", srcs=["wrap.c"], deps=[greet])
env.GoCgoBinary("hello", package=".", cdeps=[wrap], platforms={platforms!r}, toolchain="zig")
"""


def make_lib(zig, arch, root, word="hello", times=2):
    """Install libgreet.a and libshout.a (and their .pc files) into root/<goarch>/usr, built for `arch`."""
    usr = os.path.join(root, arch, "usr")
    os.makedirs(os.path.join(usr, "include", "greet"), exist_ok=True)
    os.makedirs(os.path.join(usr, "lib", "pkgconfig"), exist_ok=True)
    src = os.path.join(root, "src")
    os.makedirs(src, exist_ok=True)
    for name, text in (("greet.h", GREET_H), ("shout.c", SHOUT_C), ("greet.c", GREET_C)):
        with open(os.path.join(src, name), "w") as fh:
            fh.write(text)
    with open(os.path.join(usr, "include", "greet", "greet.h"), "w") as fh:
        fh.write(GREET_H)
    cc = [zig, "cc", "-target", ARCHES[arch], "-O2", f"-I{src}"]
    for lib in ("shout", "greet"):
        obj = os.path.join(src, f"{lib}-{arch}.o")
        subprocess.run(cc + [f'-DWORD="{word}"', "-c", os.path.join(src, f"{lib}.c"), "-o", obj], check=True)
        archive = os.path.join(usr, "lib", f"lib{lib}.a")
        if os.path.exists(archive):
            os.remove(archive)
        subprocess.run([zig, "ar", "rcs", archive, obj], check=True)
    pcdir = os.path.join(usr, "lib", "pkgconfig")
    for name, text in (("greet.pc", GREET_PC.format(times=times)), ("shout.pc", SHOUT_PC),
                       ("dynonly.pc", DYNONLY_PC)):
        with open(os.path.join(pcdir, name), "w") as fh:
            fh.write(text)
    dyn = os.path.join(usr, "lib", "libdynonly.so")
    subprocess.run(cc + ["-shared", "-o", dyn, os.path.join(src, "shout.c")], check=True)


def write_project(project, sysroot, module="greet", platforms=("linux/amd64", "linux/arm64")):
    project.write("go.mod", "module example.com/pkghello\n\ngo 1.22\n")
    project.write("main.go", MAIN_GO)
    project.write("wrap.c", WRAP_C)
    project.write("SConstruct", SCONSTRUCT.format(sysroot=sysroot, module=module, platforms=list(platforms)))


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory):
    zig = require("zig")
    require("pkg-config")
    root = str(tmp_path_factory.mktemp("sysroot"))
    for arch in ARCHES:
        make_lib(zig, arch, root)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory, sysroot):
    from conftest import Project
    project = Project(tmp_path_factory.mktemp("pkgproj") / "proj")
    write_project(project, sysroot)
    project.scons()
    return project


def binary(project, arch):
    return project.path("build", f"linux-{arch}-musl-zig", "hello")


def test_links_a_sysroot_library_on_both_architectures(built):
    for arch in ARCHES:
        out = run_binary(binary(built, arch), f"linux/{arch}")
        assert out.returncode == 0, out.stderr
        assert out.stdout == "HELLO, WORLD x2 20\n"
        report = json.load(open(binary(built, arch) + ".verify.json"))
        assert report["ok"] and report["summary"]["link_type"] == "static"
        # the dependency manifest names the module with the version pkg-config gives, and each archive's sha256
        from sconsrules.verify.manifest import read
        [lib] = [lib for lib in read(binary(built, arch))["libraries"] if lib["kind"] == "PkgConfigCLib"]
        assert lib["version"] == "1.0" and sorted(a["name"] for a in lib["archives"]) == ["libgreet.a", "libshout.a"]


def test_response_files_keep_pkg_config_order_and_copy_the_archives(built, sysroot):
    out = built.path("build", "linux-arm64-musl-zig", "_pkgconfig", "greet")
    cflags = open(os.path.join(out, "cflags.rsp")).read().split()
    assert cflags == [f"-I{sysroot}/arm64/usr/include/greet", "-DGREET_TIMES=2"]
    libs = open(os.path.join(out, "libs.rsp")).read().split()
    # pkg-config's own order (greet before what it requires); -lm stays a flag: it is part of musl's libc.a.
    assert [os.path.basename(x) for x in libs] == ["libgreet.a", "-lm", "libshout.a"]
    for path in (libs[0], libs[2]):
        assert path.startswith(out + "/lib/") and os.path.isfile(path)
    origins = open(os.path.join(out, "origins.txt")).read().split()
    assert origins == [f"{sysroot}/arm64/usr/lib/libgreet.a", f"{sysroot}/arm64/usr/lib/libshout.a"]


def test_null_build_does_nothing(built):
    assert built.scons().steps() == []


def test_changed_cflags_reach_c_and_cgo(built, sysroot):
    """The .pc's Cflags change: the C library recompiles and Go's own cache must not serve the old define."""
    zig = require("zig")
    try:
        for arch in ARCHES:
            make_lib(zig, arch, sysroot, times=3)
        result = built.scons()
        assert sorted({(s[0], s[2].split()[0]) for s in result.steps()}) == [
            ("GoCgoBinary", "go"), ("PkgConfigCLib", "pkg-config"), ("StaticCLib", "archive"),
            ("StaticCLib", "compile")]
        for arch in ARCHES:
            assert run_binary(binary(built, arch), f"linux/{arch}").stdout == "HELLO, WORLD x3 30\n"
    finally:
        for arch in ARCHES:
            make_lib(zig, arch, sysroot)
        built.scons()


def test_rebuilt_archive_with_the_same_pc_relinks(built, sysroot):
    """Same .pc, new library bytes: the pkg-config step notices (the listing is an input), the copies'
    checksums change libs.rsp, the binary relinks; the C library that only reads cflags does not recompile."""
    zig = require("zig")
    try:
        make_lib(zig, "amd64", sysroot, word="hi")
        result = built.scons()
        assert sorted({(s[0], s[3]) for s in result.steps()}) == [
            ("GoCgoBinary", "linux-amd64-musl-zig"), ("PkgConfigCLib", "linux-amd64-musl-zig")]
        assert run_binary(binary(built, "amd64"), "linux/amd64").stdout == "HI, WORLD x2 20\n"
        assert built.scons().steps() == []
    finally:
        make_lib(zig, "amd64", sysroot)
        built.scons()


def test_paths_are_relative_to_the_sconscript(project, sysroot):
    """A sysroot kept in the tree (third_party/sysroot/<goarch>), named relative to the SConscript."""
    import shutil
    shutil.copytree(os.path.join(sysroot, "amd64"), project.path("third_party", "sysroot", "amd64"))
    write_project(project, "third_party/sysroot", platforms=["linux/amd64"])
    project.scons()
    assert run_binary(binary(project, "amd64"), "linux/amd64").stdout == "HELLO, WORLD x2 20\n"
    origins = open(project.path("build", "linux-amd64-musl-zig", "_pkgconfig", "greet", "origins.txt")).read()
    assert origins.split()[0] == project.path("third_party", "sysroot", "amd64", "usr", "lib", "libgreet.a")


def _fails(project, *needles):
    result = project.scons(check=False)
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    line = [x for x in result.output.splitlines() if x.startswith("scons: *** ")]
    assert line, result.output
    for needle in needles:
        assert needle in line[0], line[0]
    return line[0]


def test_missing_module_is_one_clear_line_and_the_fix_builds(project, sysroot):
    write_project(project, sysroot, module="nosuchlib", platforms=["linux/amd64"])
    _fails(project, "PkgConfigCLib 'greet'", "nosuchlib", "not found", "pkg_config_path")
    assert not os.path.exists(project.path("build", "linux-amd64-musl-zig", "_pkgconfig", "greet"))
    write_project(project, sysroot, platforms=["linux/amd64"])
    project.scons()
    assert run_binary(binary(project, "amd64"), "linux/amd64").stdout == "HELLO, WORLD x2 20\n"


def test_a_shared_library_only_is_refused(project, sysroot):
    write_project(project, sysroot, module="dynonly", platforms=["linux/amd64"])
    _fails(project, "PkgConfigCLib 'greet'", "-ldynonly", "only to the shared library", "libdynonly.a")


def test_a_host_glibc_archive_is_refused_by_the_verifier(project):
    """Without pkg_config_path, the host's own pkg-config path: Debian's libz.a is built against glibc."""
    require("pkg-config")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libz.a"):
        (pytest.fail if IN_CI else pytest.skip)("zlib1g-dev (a glibc-built libz.a) is required")
    project.write("go.mod", "module example.com/z\n\ngo 1.22\n")
    project.write("main.go", 'package main\n\n// #include <zlib.h>\nimport "C"\n\nfunc main() { println(C.zlibVersion()) }\n')
    project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"])\n'
                  'z = env.PkgConfigCLib("z", module="zlib")\n'
                  'env.GoCgoBinary("zv", cdeps=[z], platforms=["linux/amd64"], toolchain="musl-gcc")\n')
    line = _fails(project, "PkgConfigCLib 'z'", "verify failed for lib/", "libz.a")
    assert "glibc" in line
    assert not os.path.exists(project.path("build", "linux-amd64-musl-musl-gcc", "_pkgconfig", "z"))


FORTIFIED_C = """#include <string.h>
int fortified(const char *s) { char buf[32]; strcpy(buf, s); return (int)strlen(buf); }
"""
FORTIFIED_PC = """prefix=/opt/glibc
Name: fortified
Description: built with Debian's gcc against glibc
Version: 1.0
Libs: -L${prefix}/lib -lfortified
"""
DOCKERFILE = """FROM sconsrules-builder:bookworm
COPY src /src
RUN set -e; cd /src; mkdir -p /opt/musl/lib /opt/musl/include/greet /opt/glibc/lib /usr/local/lib/pkgconfig; \\
    musl-gcc -O2 -DWORD='"hello"' -I. -c shout.c greet.c; \\
    ar rcs /opt/musl/lib/libshout.a shout.o; ar rcs /opt/musl/lib/libgreet.a greet.o; \\
    cp greet.h /opt/musl/include/greet/; \\
    gcc -O2 -D_FORTIFY_SOURCE=2 -c fortified.c; ar rcs /opt/glibc/lib/libfortified.a fortified.o; \\
    sed 's|^prefix=/usr|prefix=/opt/musl|' greet.pc > /usr/local/lib/pkgconfig/greet.pc; \\
    sed 's|^prefix=/usr|prefix=/opt/musl|' shout.pc > /usr/local/lib/pkgconfig/shout.pc; \\
    cp fortified.pc /usr/local/lib/pkgconfig/
"""
CONTAINER_SCONSTRUCT = """env = Environment(tools=["default", "sconsrules"], SCONSRULES_TOOLCHAIN=None)
env["SCONSRULES_TOOLCHAIN"] = env.ContainerToolchain(dockerfile="image/Dockerfile", cc="musl-gcc",
                                                     platforms=["linux/amd64"])
greet = env.PkgConfigCLib("greet", module={module!r})
wrap = env.StaticCLib("wrap", srcs=["wrap.c"], deps=[greet])
env.GoCgoBinary("hello", package=".", cdeps=[wrap], platforms=["linux/amd64"])
"""


def container_project(project, module="greet"):
    write_project(project, "/unused", platforms=["linux/amd64"])
    project.write("SConstruct", CONTAINER_SCONSTRUCT.format(module=module))
    for name, text in (("greet.h", GREET_H), ("shout.c", SHOUT_C), ("greet.c", GREET_C),
                       ("greet.pc", GREET_PC.format(times=2)), ("shout.pc", SHOUT_PC),
                       ("fortified.c", FORTIFIED_C), ("fortified.pc", FORTIFIED_PC)):
        project.write(f"image/src/{name}", text)
    project.write("image/Dockerfile", DOCKERFILE)
    return project


def test_in_a_container_image_with_the_library_installed(project, docker_client):
    """The typical case: an image that has the library's static build and .pc files on pkg-config's own path."""
    container_project(project)
    project.scons()
    config = "linux-amd64-musl-ctr-image"
    out = run_binary(project.path("build", config, "hello"), "linux/amd64")
    assert out.stdout == "HELLO, WORLD x2 20\n", out.stderr
    origins = open(project.path("build", config, "_pkgconfig", "greet", "origins.txt")).read().split()
    assert origins == ["/opt/musl/lib/libgreet.a", "/opt/musl/lib/libshout.a"]
    assert project.scons().steps() == []
    assert docker_client.containers.list(all=True, filters={"label": "sconsrules.builder"}, sparse=True) == []


def test_in_a_container_a_glibc_built_archive_is_refused(project, docker_client):
    container_project(project, module="fortified")
    line = _fails(project, "PkgConfigCLib 'greet'", "libfortified.a", "glibc", "musl build")
    assert "_chk" in line and "/opt/glibc/lib/libfortified.a" in line


def test_a_missing_pkg_config_command_is_named(project, sysroot):
    write_project(project, sysroot, platforms=["linux/amd64"])
    project.write("SConstruct", project.read("SConstruct").replace("module='greet'", "module='greet', pkg_config='no-such-pkg-config'"))
    _fails(project, "PkgConfigCLib 'greet'", "'no-such-pkg-config' is not installed")
