"""Container toolchain against native, side by side in one run (median/min/max of N runs each):

1. per-action overhead: one tiny C compile with musl-gcc natively, through the builder's command server, and as
   a `docker exec` in the builder container;
2. warm rebuild: the clib-chain example after a one-line edit of a leaf library (compile, archive, go build),
   native musl-gcc against the container toolchain (the same Debian musl-gcc and Go inside the image), as users
   see it: the builder kept from the previous run (the default), and with SCONSRULES_BUILDER_IDLE=0, each run
   starting and removing its own. Target: the kept builder's rebuild within 1.3x native.

Needs a Docker engine with sconsrules-builder:bookworm (tests/containers/make_images.sh).
Usage: python bench/container_vs_native.py [--runs 5]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "sconsrules-builder:bookworm"
SCONSTRUCT = """env = Environment(tools=["default", "sconsrules"])
tc = {toolchain}
env["SCONSRULES_TOOLCHAIN"] = tc
SConscript("SConscript", exports="env")
"""


def stats(samples):
    return statistics.median(samples), min(samples), max(samples)


def row(name, base, other, unit="s", target=None):
    scale = 1000 if unit == "ms" else 1
    b, o = stats(base), stats(other)
    verdict = "" if target is None else f"  target {target}x: {'met' if o[0] / b[0] <= target else 'missed'}"
    print(f"{name:<40} native {b[0] * scale:8.2f}{unit} ({b[1] * scale:.2f}-{b[2] * scale:.2f})  "
          f"container {o[0] * scale:8.2f}{unit} ({o[1] * scale:.2f}-{o[2] * scale:.2f})  ratio {o[0] / b[0]:5.2f}x  "
          f"overhead {(o[0] - b[0]) * scale:+.2f}{unit}{verdict}")


def per_action(runs):
    """One tiny compile natively, through the builder's command server (what sconsrules uses), and as a
    `docker exec` (what it used before)."""
    import docker

    from sconsrules.execute import channel
    client = docker.from_env()
    d = tempfile.mkdtemp(prefix="bench-action-")
    src = os.path.join(d, "a.c")
    with open(src, "w") as fh:
        fh.write("int a(int x) { return x * 3; }\n")
    server = channel.Channel(d, "builder")
    server.prepare()
    container = client.containers.run(IMAGE, ["sh", "-c", channel.SERVER, server.directory, "0"], detach=True,
                                      network_mode="none", init=True, volumes={d: {"bind": d, "mode": "rw"}},
                                      user=f"{os.getuid()}:{os.getgid()}")
    try:
        while not server.answers():
            time.sleep(0.01)
        argv = ["musl-gcc", "-O2", "-c", src, "-o", os.path.join(d, "a.o")]
        text = channel.script(argv, {}, d)
        native, served, executed = [], [], []
        for _ in range(runs * 4):
            start = time.perf_counter()
            subprocess.run(argv, check=True)
            native.append(time.perf_counter() - start)
            start = time.perf_counter()
            code, _ = server.run(text)
            served.append(time.perf_counter() - start)
            assert code == 0
            start = time.perf_counter()
            code, _ = container.exec_run(argv)
            executed.append(time.perf_counter() - start)
            assert code == 0
        row("per action, command server (tiny C compile)", native, served, "ms")
        row("per action, docker exec (before)", native, executed, "ms")
    finally:
        container.remove(force=True)
        shutil.rmtree(d, ignore_errors=True)


def project(toolchain):
    d = tempfile.mkdtemp(prefix="bench-rebuild-")
    shutil.copytree(os.path.join(REPO, "examples", "clib-chain"), d, dirs_exist_ok=True)
    with open(os.path.join(d, "SConstruct"), "w") as fh:
        fh.write(SCONSTRUCT.format(toolchain=toolchain))
    script = os.path.join(d, "SConscript")
    with open(script) as fh:
        text = fh.read()
    with open(script, "w") as fh:
        fh.write(text.replace('platforms=["linux/amd64", "linux/arm64"], toolchain="zig"', "platforms=['linux/amd64']"))
    return d


KEPT = dict(os.environ, SCONSRULES_BUILDER_IDLE="600")
ONCE = dict(os.environ, SCONSRULES_BUILDER_IDLE="0")


def scons(d, env=KEPT):
    argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={os.path.join(REPO, 'site_scons')}"]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=d, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    return time.perf_counter() - start


def warm_rebuild(runs):
    native = project('"musl-gcc"')
    container = f'env.ContainerToolchain(image="{IMAGE}", cc="musl-gcc", go="go")'
    kept, once = project(container), project(container)
    envs = {native: KEPT, kept: KEPT, once: ONCE}
    try:
        for d in envs:
            scons(d, envs[d])
            scons(d, envs[d])
        times = {d: [] for d in envs}
        nulls = {d: [] for d in envs}
        for i in range(runs):
            for d in envs:
                with open(os.path.join(d, "c", "base", "base.c"), "a") as fh:
                    fh.write(f"int bench_{i}(void) {{ return {i}; }}\n")
                times[d].append(scons(d, envs[d]))
                nulls[d].append(scons(d, envs[d]))
        row("warm rebuild, builder kept (default)", times[native], times[kept], target=1.3)
        row("warm rebuild, a builder per run", times[native], times[once])
        row("null build", nulls[native], nulls[kept])
    finally:
        for d in envs:
            subprocess.run([sys.executable, "-m", "SCons", "-Q", "-c", f"--site-dir={os.path.join(REPO, 'site_scons')}"],
                           cwd=d, capture_output=True, env=envs[d])
            shutil.rmtree(d, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    per_action(args.runs)
    warm_rebuild(args.runs)


if __name__ == "__main__":
    main()
