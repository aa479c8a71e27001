"""The background warm-up of a toolchain's once-per-machine work (execute/warmup.py): which links a run starts it
for, and the processes' life. The real effect on a cold zig cache is measured in bench/zig_first_use.py; a real
build starting it is in test_build.py:test_progress_counts_steps_and_says_before_slow_first_work."""
import importlib
import os
import threading
import time

import pytest
import SCons.Script

from sconsrules.configure.platform import Platform
from sconsrules.execute.warmup import WarmUps

pytestmark = pytest.mark.unit

GO_MOD = "module example.com/app\n\ngo 1.22\n"
MAIN_GO = 'package main\n\n// int one(void) { return 1; }\nimport "C"\n\nfunc main() {}\n'


def declare(a):
    a.write("go.mod", GO_MOD)
    a.write("main.go", MAIN_GO)
    a.write("c/c.c", "int c(void) { return 1; }\n")
    a.env["SCONSRULES_PLATFORMS"] = ["linux/amd64"]
    lib = a.env.StaticCLib("c", srcs=["c/c.c"])
    a.env.GoCgoBinary("app", platforms=["linux/amd64", "linux/arm64"])
    a.env.GoCgoBinary("debug", platforms=["linux/amd64"], strip=False)
    return lib


def test_a_run_starts_it_once_for_the_variants_its_links_want_where_still_to_do(analysis, tmp_path, monkeypatch):
    """Per platform whose ready mark is missing: one link per variant (stripped or not) of the binaries the run
    builds, with the flags the links use; none for a platform already done, none when only a library is asked
    for, and only once per run."""
    a = analysis
    monkeypatch.setenv("ZIG_GLOBAL_CACHE_DIR", str(tmp_path / "zig"))
    a.zig.used(Platform.parse("linux/arm64"))  # done on this machine
    lib = declare(a)
    monkeypatch.setattr(SCons.Script, "BUILD_TARGETS", [lib[0]])
    assert a.ctx.warm_up() == [] and a.ctx.warm_ups.started == []
    a.ctx._warm_checked = False
    monkeypatch.setattr(SCons.Script, "BUILD_TARGETS", [])
    notices = a.ctx.warm_up()
    assert [argv[1:-5] for argv in a.ctx.warm_ups.started] == [
        ["cc", "-target", "x86_64-linux-musl", "-static", "-s", "-fno-PIC"],
        ["cc", "-target", "x86_64-linux-musl", "-static", "-fno-PIC"]]
    assert all(argv[0] == a.zig_exe and argv[-5:-1] == ["-x", "c", "-", "-o"] for argv in a.ctx.warm_ups.started)
    assert notices == ["first link with zig for x86_64-linux-musl on this machine: unless its cache holds them, zig "
                       "compiles musl's libc for it once (about 35 s; C++ adds libc++, a few minutes): started now, "
                       "in the background"]
    assert a.ctx.warm_up() == [] and len(a.ctx.warm_ups.started) == 2
    a.ctx.warm_ups.close()


def test_the_first_step_also_imports_the_verifier_on_a_thread_once_per_run(analysis, monkeypatch):
    """While the first step's command runs, not after it (where every edit's first verification waited on it)."""
    monkeypatch.setattr(SCons.Script, "BUILD_TARGETS", [declare(analysis)[0]])
    imported = []
    monkeypatch.setattr(importlib, "import_module", imported.append)
    analysis.ctx.warm_up()
    analysis.ctx.warm_up()
    for thread in threading.enumerate():
        if thread.name == "sconsrules-import-verifier":
            thread.join(5)
    assert imported == ["sconsrules.verify.checks"]


class Stub:
    """A toolchain's warm-up interface, running the host's sh."""

    def __init__(self, script):
        self.script = script

    def warm_up(self, platform, strip, cxx, out):
        return ["sh", "-c", self.script.replace("OUT", out)] if self.script else None

    def env(self, platform):
        return {}


def test_the_program_is_fed_on_stdin_and_what_still_runs_is_stopped_with_the_build(tmp_path):
    amd64 = Platform.parse("linux/amd64")
    warm = WarmUps()
    seen = tmp_path / "seen"
    assert warm.start(Stub(f"cat > {seen}; touch OUT"), amd64, True, False)
    assert not warm.start(Stub(None), amd64, True, False)  # a toolchain without once-per-machine work
    assert warm.start(Stub("sleep 60"), amd64, True, True)
    deadline = time.monotonic() + 10
    while not seen.exists() or not seen.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert seen.read_text() == "int main(void) { return 0; }\n"
    directory = warm._dir
    started = time.monotonic()
    warm.close()
    assert time.monotonic() - started < 5 and not os.path.exists(directory)
    assert all(p.poll() is not None for p in warm._procs) and warm._procs == []
