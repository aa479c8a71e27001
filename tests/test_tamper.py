"""Outputs changed on disk after they were built are noticed, named, rebuilt; the summary tells the truth."""
import glob
import hashlib
import os
import struct

import pytest

from conftest import require, run_binary
from test_build import CHAIN_OUT, chain_project, sha

pytestmark = pytest.mark.integration
CONFIG = "linux-amd64-musl-zig"


def flip(path, offset, mask=0x01):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ mask]))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One clib-chain build (amd64, zig) shared by the cases; each case leaves it as it found it."""
    require("zig")
    from conftest import Project
    project = chain_project(Project(tmp_path_factory.mktemp("tamper") / "proj"), platforms=("linux/amd64",))
    project.scons()
    return project


def binary(project):
    return project.path("build", CONFIG, "chain")


def test_a_flipped_byte_in_the_binary_is_rebuilt(built):
    path = binary(built)
    good = sha(path)
    flip(path, 4096)
    question = built.scons("-q", check=False)
    assert question.returncode == 1, "scons -q must not call a modified output up to date"
    result = built.scons()
    assert f"sconsrules: build/{CONFIG}/chain was modified outside the build; rebuilding it" in result.stdout
    assert result.ran("GoCgoBinary", "chain") and not result.ran("StaticCLib")
    assert sha(path) == good
    assert good[:12] in result.stdout and "MODIFIED" not in result.stdout
    assert run_binary(path, "linux/amd64").stdout == CHAIN_OUT
    assert built.scons().steps() == []


def test_an_overwritten_machine_field_is_rebuilt(built):
    path = binary(built)
    good = sha(path)
    with open(path, "r+b") as fh:
        fh.seek(18)
        fh.write(struct.pack("<H", 183))  # EM_AARCH64
    result = built.scons()
    assert "chain was modified outside the build" in result.stdout
    assert sha(path) == good


def test_a_changed_code_byte_in_an_archive_rebuilds_the_archive_not_the_link(built):
    archive = glob.glob(built.path("build", CONFIG, "**", "libbase.a"), recursive=True)[0]
    good_archive, good_binary = sha(archive), sha(binary(built))
    flip(archive, os.path.getsize(archive) - 64)
    result = built.scons()
    assert f"{os.path.relpath(archive, built.root)} was modified outside the build" in result.stdout
    assert result.ran("StaticCLib", "base", "archive")
    assert sha(archive) == good_archive and sha(binary(built)) == good_binary
    assert built.scons().steps() == []


def test_an_edited_report_is_rebuilt(built):
    report = binary(built) + ".verify.json"
    text = open(report).read()
    with open(report, "w") as fh:
        fh.write(text.replace('"ok": true', '"ok": true ').replace('"libc": "musl"', '"libc": "glibc"'))
    result = built.scons()
    assert "chain.verify.json was modified outside the build" in result.stdout
    assert open(report).read() == text


def test_a_touched_output_is_not_a_modification(built):
    path = binary(built)
    os.utime(path, (1, 1))
    result = built.scons()
    assert "modified" not in result.stdout and result.steps() == []


def test_edits_in_an_unpacked_source_and_in_an_install_are_undone(project, tmp_path):
    """ForeignCLib from a SourceArchive (file://): an edited source file is unpacked again, an edited installed
    header rebuilds the install (from the output cache), and the build after that is null."""
    require("zig")
    from test_sources import q_library_tarball
    lib = q_library_tarball()
    archive = tmp_path / "lib-1.0.tar.gz"
    archive.write_bytes(lib)
    project.write("SConstruct", "env = Environment(tools=['default', 'sconsrules'])\n"
                  f"src = env.SourceArchive('q-src', urls=['file://{archive}'], "
                  f"sha256='{hashlib.sha256(lib).hexdigest()}', strip_prefix='lib-1.0')\n"
                  "env.ForeignCLib('q', source=src, build='make', outputs=['lib/libq.a'], includes=['include'])\n")
    project.scons("--platforms=linux/amd64")
    source = glob.glob(project.path("build", "_src", "q-src-*", "q.c"))[0]
    with open(source, "a") as fh:
        fh.write("int injected(void) { return 1; }\n")
    result = project.scons("--platforms=linux/amd64")
    assert "q.c was modified outside the build" in result.stdout
    assert open(source).read() == "int q(void) { return 42; }\n"
    header = project.path("build", CONFIG, "_foreign", "q", "usr", "local", "include", "q.h")
    with open(header, "w") as fh:
        fh.write("#define EVIL 1\n")
    result = project.scons("--platforms=linux/amd64")
    assert "_foreign/q/usr/local/include/q.h was modified outside the build" in result.stdout
    assert open(header).read() == "int q(void);\n"
    assert project.scons("--platforms=linux/amd64").steps() == []
