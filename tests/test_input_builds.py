"""Inputs that used to reach SCons or the tools raw, built for real: they work, or fail with one clear line."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import SITE_DIR, require, run_binary

pytestmark = pytest.mark.integration
HEADER = "env = Environment(tools=['default', 'sconsrules'])\n"
GO_MOD = "module example.com/in\n\ngo 1.22\n"


def test_same_stem_sources_get_their_own_objects_and_quoted_x_defs_arrive(project):
    require("zig")
    project.write("go.mod", GO_MOD)
    project.write("fast.c", "int fast_c(void) { return 40; }\n")
    project.write("fast.S", ".globl fast_s\nfast_s:\n  mov $2, %eax\n  ret\n.section .note.GNU-stack,\"\",@progbits\n")
    project.write("fast.h", "int fast_c(void);\nint fast_s(void);\n")
    project.write("main.go", 'package main\n\n// #include "fast.h"\nimport "C"\nimport "fmt"\n\n'
                  'var quote, spaced, both string\n\n'
                  'func main() { fmt.Println(int(C.fast_c()+C.fast_s()), quote, spaced, both) }\n')
    project.write("SConstruct", HEADER + "lib = env.StaticCLib('fast', srcs=['fast.c', 'fast.S'], hdrs=['fast.h'], "
                  "includes=['.'])\n"
                  "env.GoCgoBinary('app', cdeps=[lib], platforms=['linux/amd64'], toolchain='zig', "
                  "x_defs={'main.quote': \"it's\", 'main.spaced': 'a b', 'main.both': 'say \"hi\"'})\n")
    result = project.scons()
    objs = project.path("build", "linux-amd64-musl-zig", "_objs", "fast")
    assert sorted(n for n in os.listdir(objs) if not n.startswith(".")) == ["fast.S.o", "fast.c.o"]
    out = run_binary(project.path("build", "linux-amd64-musl-zig", "app"), "linux/amd64").stdout
    assert out == "42 it's a b say \"hi\"\n"
    assert len(result.ran("StaticCLib", what="compile")) == 2


def _start_slow_compile(project, jobs):
    body = "".join(f"double f{i}(double x) {{ for (int k = 0; k < {i % 7 + 3}; k++) x = x * {i}.5 + k / (x + 1.0); "
                   f"return x; }}\n" for i in range(6000))
    project.write("slow.c", body)
    project.write("SConstruct", HEADER + "env.StaticCLib('slow', srcs=['slow.c'])\n")
    proc = subprocess.Popen([sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}", "--platforms=linux/amd64",
                             "--toolchain=zig", jobs], cwd=project.root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = ""
    for line in proc.stdout:
        seen += line
        if "compile slow.c" in line:
            time.sleep(1.0)
            return proc, seen
    raise AssertionError(seen)


def _finish(proc, seen):
    seen += proc.stdout.read()
    proc.wait(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in seen
    assert "see the compiler output above" not in seen
    return seen


@pytest.mark.parametrize("jobs", ["-j1", "-j2"])
def test_ctrl_c_during_a_compile_says_interrupted(project, jobs):
    require("zig")
    proc, seen = _start_slow_compile(project, jobs)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    seen = _finish(proc, seen)
    assert "Build interrupted." in seen or "was interrupted (SIGINT)" in seen, seen
    assert not os.path.exists(project.path("build", "linux-amd64-musl-zig", "libslow.a"))


@pytest.mark.parametrize("sig, said", [(signal.SIGINT, "compile slow.c was interrupted (SIGINT)"),
                                       (signal.SIGKILL, "compile slow.c was killed by SIGKILL (out of memory?)")])
def test_a_compiler_ended_by_a_signal_is_named(project, sig, said):
    require("zig")
    proc, seen = _start_slow_compile(project, "-j2")
    found = subprocess.run(["pgrep", "-g", str(proc.pid), "-f", "cc -target"], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split()]
    assert pids, "the compiler is running"
    for pid in pids:
        os.kill(pid, sig)
    seen = _finish(proc, seen)
    assert said in seen, seen
