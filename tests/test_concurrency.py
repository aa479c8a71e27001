"""Concurrent runs in one tree and kill -9 in the middle of a build: the next run is clean, nothing is orphaned."""
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import SITE_DIR, Project, require, run_binary

pytestmark = pytest.mark.integration
SLOW_C = "".join(f"double f{i}(double x) {{ for (int k = 0; k < {i % 7 + 3}; k++) x = x * {i}.5 + k / (x + 1.0); "
                 f"return x; }}\n" for i in range(5000))


def setup(project):
    project.write("go.mod", "module example.com/k\n\ngo 1.22\n")
    project.write("slow.c", "#define TRIAL 0\n" + SLOW_C + "int answer(void) { return 42; }\n")
    project.write("slow.h", "int answer(void);\n")
    project.write("main.go", 'package main\n\n// #include "slow.h"\nimport "C"\nimport "fmt"\n\n'
                  "func main() { fmt.Println(int(C.answer())) }\n")
    project.write("SConstruct", "env = Environment(tools=['default', 'sconsrules'])\n"
                  "lib = env.StaticCLib('slow', srcs=['slow.c'], hdrs=['slow.h'], includes=['.'])\n"
                  "env.GoCgoBinary('app', cdeps=[lib], platforms=['linux/amd64'], toolchain='zig')\n")


def start(project, *args):
    return subprocess.Popen([sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}", *args], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(proc, text):
    seen = ""
    for line in proc.stdout:
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}:\n{seen}")


def marked(run_pid):
    """Processes still carrying a run's mark."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if any(v.startswith(f"SCONSRULES_RUN={run_pid}-".encode()) for v in fh.read().split(b"\0")):
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_a_second_run_waits_and_no_wait_refuses(project):
    require("zig")
    setup(project)
    first = start(project)
    wait_for(first, "compile slow.c")
    refused = project.scons("--no-wait", check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.output
    assert f"build directory: build/ is in use by another scons (pid {first.pid})" in refused.stderr
    second = project.scons()
    assert f"another scons (pid {first.pid}) is building in build/; waiting for it to finish" in second.stdout
    assert first.wait(timeout=300) == 0
    assert second.steps() == [], "the first run built everything; the second found it done"
    assert run_binary(project.path("build/linux-amd64-musl-zig/app"), "linux/amd64").stdout == "42\n"


TRIALS = int(os.environ.get("SCONSRULES_FAULT_TRIALS", "3"))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_fault_trials_leave_no_process_and_the_next_run_is_clean(project, sig):
    """kill -9 of scons, or Ctrl-C (SIGINT to the whole foreground group), at a random moment of a build."""
    require("zig")
    setup(project)
    project.scons()
    binary = project.path("build/linux-amd64-musl-zig/app")
    rng = random.Random(10)
    for trial in range(1, TRIALS + 1):
        text = project.read("slow.c").replace(f"#define TRIAL {trial - 1}", f"#define TRIAL {trial}")
        project.write("slow.c", text)  # an unused macro: the compile reruns, the bytes do not change
        run = start(project)
        wait_for(run, "compile slow.c")
        time.sleep(rng.uniform(0.2, 2.5))
        if sig == signal.SIGKILL:
            run.send_signal(sig)
        else:
            _ctrl_c(run)
        run.wait()
        time.sleep(0.3)
        assert not [p for p in marked(run.pid) if _parent(p) == run.pid], "direct children die with scons"
        after = project.scons()
        if sig == signal.SIGKILL:
            assert f"the previous run (pid {run.pid}) did not finish" in after.stdout
        assert marked(run.pid) == [], f"trial {trial}: processes of the killed run still running"
        # the binary is the one a clean build of these sources makes (its dependency manifest digests slow.c)
        assert hashlib.sha256(open(binary, "rb").read()).hexdigest() == clean_build(project, trial)
        assert not [n for n in _walk(project.path("build")) if ".sconsrules-tmp" in n], "temporary files left"
        assert project.scons().steps() == []


def clean_build(project, trial):
    """The sha256 of the binary a fresh copy of the project's sources builds."""
    clean = Project(project.root + f"-clean{trial}")
    shutil.copytree(project.root, clean.root, ignore=shutil.ignore_patterns("build", ".sconsign*"))
    clean.scons()
    with open(clean.path("build/linux-amd64-musl-zig/app"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _ctrl_c(run):
    """SIGINT to scons and every process it started, as a terminal's Ctrl-C reaches its foreground group."""
    for pid in [run.pid] + marked(run.pid):
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _walk(root):
    for _, dirnames, filenames in os.walk(root):
        yield from dirnames + filenames
