"""zig's first use per architecture, measured side by side (issue 16): what a cold zig cache adds to the first
build, and what starting zig's libc build in the background when the build begins (execute/warmup.py) saves.

For each architecture, --runs times, with a fresh zig cache and a fresh Go build cache (a new machine):
  no-warm-up  `scons` of the hello-cgo example with the warm-up switched off (Context.warm_up patched to do
              nothing, in this script only): musl's libc is compiled inside the first link, after Go has
              compiled the standard library and the cgo code;
  warm-up     the same build as sconsrules runs it: the libc the links need is compiled from the first step on,
              next to Go's compiles;
and, for scale, `warm`: the same build with zig's cache filled and Go's build cache cold again.
Each row reports the median wall time and how many libc.a variants the zig cache ended with (2 would mean the
warm-up built a variant the link could not use). Usage: python bench/zig_first_use.py [--runs 2] [--arch amd64]
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = {"amd64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}


def zig_exe():
    import ziglang
    return os.path.join(os.path.dirname(ziglang.__file__), "zig")


def project(root, arch):
    shutil.copytree(os.path.join(REPO, "examples", "hello-cgo"), root)
    with open(os.path.join(root, "SConstruct"), "w") as fh:
        fh.write(f'env = Environment(tools=["sconsrules"], SCONSRULES_PLATFORMS=["linux/{arch}"])\n'
                 'SConscript("SConscript", exports="env")\n')


NO_WARM_UP = ("import sys; from SCons.Script.Main import main; import sconsrules.context as c; "
              "c.Context.warm_up = lambda self: []; sys.argv[0] = 'scons'; main()")


def build(arch, zig_cache, go_cache, warm_up):
    root = tempfile.mkdtemp(prefix="zig-first-")
    try:
        project(os.path.join(root, "p"), arch)
        env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=zig_cache, GOCACHE=go_cache,
                   XDG_CACHE_HOME=os.path.join(root, "xdg"))
        scons = [sys.executable, "-m", "SCons"] if warm_up else [sys.executable, "-c", NO_WARM_UP]
        start = time.perf_counter()
        proc = subprocess.run(scons + ["-Q", f"--site-dir={os.path.join(REPO, 'site_scons')}"],
                              cwd=os.path.join(root, "p"), env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(proc.stdout + proc.stderr)
        return elapsed, len(glob.glob(os.path.join(zig_cache, "o", "*", "libc.a")))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--arch", default="amd64", choices=sorted(TARGETS))
    args = parser.parse_args()
    rows = {"no-warm-up": [], "warm-up": [], "warm": []}
    variants = {}
    for _ in range(args.runs):
        for kind in ("no-warm-up", "warm-up"):
            work = tempfile.mkdtemp(prefix="zig-first-cache-")
            try:
                seconds, found = build(args.arch, os.path.join(work, "zig"), os.path.join(work, "go"), kind == "warm-up")
                rows[kind].append(seconds)
                variants[kind] = found
                if kind == "warm-up":  # zig's cache is full now: the same build with only Go's cache cold
                    seconds, found = build(args.arch, os.path.join(work, "zig"), os.path.join(work, "go2"), False)
                    rows["warm"].append(seconds)
                    variants["warm"] = found
            finally:
                shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(rows["no-warm-up"])
    for kind, samples in rows.items():
        median = statistics.median(samples)
        print(f"{args.arch:<6} {kind:<10} {median:7.1f} s ({min(samples):.1f}-{max(samples):.1f})  "
              f"ratio {median / base:4.2f}x  libc.a variants in zig's cache: {variants[kind]}")


if __name__ == "__main__":
    main()
