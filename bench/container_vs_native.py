"""Container toolchain against native, side by side in one run (median/min/max of N runs each):

1. per-action overhead: one tiny C compile with musl-gcc natively, and as an exec in the builder container;
2. warm rebuild: the clib-chain example after a one-line edit of a leaf library (compile, archive, go build),
   native musl-gcc against the container toolchain (the same Debian musl-gcc and Go inside the image),
   each scons run starting (and removing) its builder container as users would see it.

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


def row(name, base, other, unit="s"):
    scale = 1000 if unit == "ms" else 1
    b, o = stats(base), stats(other)
    print(f"{name:<34} native {b[0] * scale:8.2f}{unit} ({b[1] * scale:.2f}-{b[2] * scale:.2f})  "
          f"container {o[0] * scale:8.2f}{unit} ({o[1] * scale:.2f}-{o[2] * scale:.2f})  ratio {o[0] / b[0]:5.2f}x  "
          f"overhead {(o[0] - b[0]) * scale:+.2f}{unit}")


def per_action(runs):
    import docker
    client = docker.from_env()
    d = tempfile.mkdtemp(prefix="bench-action-")
    src = os.path.join(d, "a.c")
    with open(src, "w") as fh:
        fh.write("int a(int x) { return x * 3; }\n")
    container = client.containers.run(IMAGE, ["sleep", "infinity"], detach=True, network_mode="none",
                                      volumes={d: {"bind": d, "mode": "rw"}}, user=f"{os.getuid()}:{os.getgid()}")
    try:
        argv = ["musl-gcc", "-O2", "-c", src, "-o", os.path.join(d, "a.o")]
        native, inside = [], []
        for _ in range(runs * 4):
            start = time.perf_counter()
            subprocess.run(argv, check=True)
            native.append(time.perf_counter() - start)
            start = time.perf_counter()
            code, _ = container.exec_run(argv)
            inside.append(time.perf_counter() - start)
            assert code == 0
        row("per action (tiny C compile)", native, inside, "ms")
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


def scons(d):
    argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={os.path.join(REPO, 'site_scons')}"]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=d, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    return time.perf_counter() - start


def warm_rebuild(runs):
    native = project('"musl-gcc"')
    inside = project(f'env.ContainerToolchain(image="{IMAGE}", cc="musl-gcc", go="go")')
    try:
        for d in (native, inside):
            scons(d)
            scons(d)
        times = {native: [], inside: []}
        nulls = {native: [], inside: []}
        for i in range(runs):
            for d in (native, inside):
                with open(os.path.join(d, "c", "base", "base.c"), "a") as fh:
                    fh.write(f"int bench_{i}(void) {{ return {i}; }}\n")
                times[d].append(scons(d))
                nulls[d].append(scons(d))
        row("warm rebuild (leaf C edit)", times[native], times[inside])
        row("null build", nulls[native], nulls[inside])
    finally:
        shutil.rmtree(native, ignore_errors=True)
        shutil.rmtree(inside, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    per_action(args.runs)
    warm_rebuild(args.runs)


if __name__ == "__main__":
    main()
