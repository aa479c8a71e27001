"""A StaticCLib's step compiles its own members (execute/members.py): only those out of date, side by side in the
run's free job slots; a kept object is reused only when its key and its bytes still match."""
import hashlib
import json
import os
import shutil
import threading
import time

import attrs
import pytest

from conftest import require

from sconsrules.actions import commands
from sconsrules.execute import members
from sconsrules.execute.slots import Slots

CONFIG = "linux-amd64-musl-zig"
SCONSTRUCT = ("env = Environment(tools=['default', 'sconsrules'])\n"
              "env.StaticCLib('m', srcs=['a.c', 'b.c', 'c.c'], includes=['inc1', 'inc2'])\n")


# -- unit: the parts that need no compiler --

def test_a_record_of_the_wrong_shape_is_ignored(tmp_path):
    record = tmp_path / ".members.json"
    for text in ("[]", "{", json.dumps({"version": 99, "members": {}}),
                 json.dumps({"version": members.RECORD_VERSION, "members": {"/o/a.o": {"key": 1}}})):
        record.write_text(text)
        assert members._kept(str(record)) == {}


def test_a_kept_member_is_reused_only_while_its_inputs_and_bytes_match(tmp_path):
    obj = tmp_path / "a.o"
    obj.write_bytes(b"object bytes")
    command = commands.cc_compile(["cc"], "/s/a.c", str(obj) + ".sconsrules-tmp", ["-I/s/inc", "@/s/flags.rsp"])
    member = ("a.c", "/s/a.c", str(obj), command)
    inputs = {"/s/a.c": "digest of a.c and what it includes", "/s/flags.rsp": "digest of the flags"}
    made, stale = members.sorted_out([member], str(tmp_path / "none.json"), "zig 1", ["/s/flags.rsp"], inputs)
    assert made == {} and [s[0] for s in stale] == ["a.c"]  # nothing kept yet
    key = stale[0][3]
    record = tmp_path / ".members.json"
    record.write_text(json.dumps({"version": members.RECORD_VERSION, "members": {
        str(obj): {"key": key, "digest": hashlib.sha256(b"object bytes").hexdigest()}}}))

    def stale_with(identity="zig 1", **changed):
        return [s[0] for s in members.sorted_out([member], str(record), identity, ["/s/flags.rsp"],
                                                 {**inputs, **changed})[1]]

    assert stale_with() == []
    assert stale_with(identity="zig 2") == ["a.c"]  # another toolchain
    assert stale_with(**{"/s/a.c": "a header it includes changed"}) == ["a.c"]
    assert stale_with(**{"/s/flags.rsp": "a response file every member reads changed"}) == ["a.c"]
    other = attrs.evolve(command, argv=command.argv + ("-O3",))
    assert [s[0] for s in members.sorted_out([("a.c", "/s/a.c", str(obj), other)], str(record), "zig 1",
                                             ["/s/flags.rsp"], inputs)[1]] == ["a.c"]  # another command
    obj.write_bytes(b"object bytes, tampered")
    assert stale_with() == ["a.c"]  # the kept object's bytes changed


def _concurrency(slots, tasks=6):
    running, peak, lock = [0], [0], threading.Lock()

    def task():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    with slots.hold():  # the calling step's own slot
        slots.side_by_side([task] * tasks)
    return peak[0]


def test_side_by_side_uses_only_free_slots():
    assert _concurrency(Slots(3)) == 3
    busy = Slots(2)
    other = busy.hold()
    other.__enter__()  # another step runs: no slot is free
    try:
        assert _concurrency(busy) == 1
    finally:
        other.__exit__(None, None, None)


def test_side_by_side_stops_starting_after_an_error():
    started = []

    def failing():
        started.append("x")
        raise ValueError("compile failed")

    def fine():
        started.append("ok")

    with pytest.raises(ValueError, match="compile failed"):
        with Slots(1).hold():
            Slots(1).side_by_side([failing, fine, fine])
    assert started == ["x"]


# -- integration: real zig compiles --

def _library(project):
    project.write("SConstruct", SCONSTRUCT)
    project.write("a.c", '#include "x.h"\nint a(void) { return X; }\n')
    project.write("b.c", '#include "y.h"\nint b(void) { return Y; }\n')
    project.write("c.c", "int c(void) { return 3; }\n")
    project.write("inc2/x.h", "#define X 1\n")
    project.write("inc2/y.h", "#define Y 2\n")
    return project


def _build(project, *args):
    result = project.scons("--platforms=linux/amd64", *args)
    return sorted(what for rule, name, what, config in result.steps() if name == "m")


def _archive(project):
    with open(project.path("build", CONFIG, "libm.a"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.mark.integration
def test_a_library_compiles_only_its_members_that_changed(project, tmp_path):
    require("zig")
    _library(project)
    assert _build(project) == ["archive", "compile a.c", "compile b.c", "compile c.c"]
    assert _build(project) == []
    with open(project.path("a.c"), "a") as fh:
        fh.write("int a2(void) { return 2; }\n")
    assert _build(project, "-n") == ["archive", "compile a.c"]  # a dry run names the member too
    assert _build(project) == ["archive", "compile a.c"]
    project.write("inc2/y.h", "#define Y 5\n")
    assert _build(project) == ["archive", "compile b.c"]
    project.write("inc1/x.h", "#define X 7\n")  # shadows inc2/x.h for a.c
    assert _build(project) == ["archive", "compile a.c"]
    # the archive is the one a build from nothing makes
    fresh = type(project)(tmp_path / "fresh")
    shutil.copytree(project.root, fresh.root, ignore=shutil.ignore_patterns("build", ".sconsign*"))
    assert _build(fresh) == ["archive", "compile a.c", "compile b.c", "compile c.c"]
    assert _archive(fresh) == _archive(project)


@pytest.mark.integration
def test_a_tampered_object_or_record_is_not_trusted(project):
    require("zig")
    _library(project)
    _build(project)
    good = _archive(project)
    objs = project.path("build", CONFIG, "_objs", "m")
    with open(os.path.join(objs, "c.o"), "wb") as fh:
        fh.write(b"\x7fELF not an object")  # a kept member overwritten
    with open(project.path("a.c"), "a") as fh:
        fh.write("\n")
    assert _build(project) == ["archive", "compile a.c", "compile c.c"]
    assert _archive(project) == good  # a blank line changes no object
    with open(os.path.join(objs, ".members.json"), "w") as fh:
        fh.write('{"version": 1, "members": []}')
    with open(project.path("a.c"), "a") as fh:
        fh.write("\n")
    assert _build(project) == ["archive", "compile a.c", "compile b.c", "compile c.c"]


@pytest.mark.integration
def test_a_failed_member_keeps_the_others_and_names_its_source(project):
    require("zig")
    _library(project)
    _build(project)
    source = project.read("b.c")
    with open(project.path("a.c"), "a") as fh:
        fh.write("int a2(void) { return 2; }\n")
    project.write("b.c", source + "int broken(\n")
    result = project.scons("--platforms=linux/amd64", check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert f"StaticCLib 'm': [{CONFIG}] compile b.c failed (exit 1) (hint: see the compiler output above)" in result.stderr
    assert not os.path.exists(project.path("build", CONFIG, "libm.a"))
    project.write("b.c", source)
    assert _build(project) == ["archive", "compile b.c"]  # a.c's new object was kept
