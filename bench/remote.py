"""The remote cache, side by side in one run, on the examples (the main job) and on the synthetic monorepo:

  1. cold build, empty remote            (checkout A: its own HOME and an empty local cache; uploads)
  2. fresh checkout, warm remote         (checkout B in another directory, another HOME, empty local cache)
  3. null build with the remote set      vs the same null build without it (medians of --runs)

Time and the number of steps that ran their commands ("built", from the end-of-build line; the goal in 2 is 0).
zig's and Go's own caches are shared and warm for every run, as on a CI machine with cached toolchains; only
sconsrules's output caches start empty. A BuildGrid server (`bgd`, the `remote` extra) is started on loopback
and stopped after. Usage: python bench/remote.py [--runs 5] [--only examples|monorepo]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

from generate import generate  # noqa: E402

SCONS = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={os.path.join(REPO, 'site_scons')}"]
TALLY = re.compile(r"shared outputs: (\d+) from remote cache, (\d+) from local cache, (\d+) built; (.*)")


def server(root):
    from conftest import ReapiServer, bgd
    return ReapiServer(bgd(), root)


def checkout(root, name, make):
    src = os.path.join(root, name, "src")
    make(src)
    home = os.path.join(root, name, "home")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home, SCONSRULES_OUTPUT_CACHE=os.path.join(root, name, "output-cache"))
    env.setdefault("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))  # zig's, Go's: shared, warm
    env.setdefault("GOCACHE", os.path.join(os.path.expanduser("~"), ".cache", "go-build"))
    env.setdefault("GOMODCACHE", os.path.join(os.path.expanduser("~"), "go", "pkg", "mod"))
    return src, env


def scons(src, env, *args):
    start = time.perf_counter()
    proc = subprocess.run(SCONS + list(args), cwd=src, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"scons {' '.join(args)} failed in {src}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    found = TALLY.search(proc.stdout)
    return took, (tuple(int(x) for x in found.groups()[:3]) + (found.group(4),)) if found else None


def examples(src):
    shutil.copytree(os.path.join(REPO, "examples"), os.path.join(src, "examples"))
    shutil.copy(os.path.join(REPO, "SConstruct"), src)
    shutil.copy(os.path.join(REPO, "README.md"), src)  # the SConstruct's release packs it


def monorepo(src):
    generate(src, libs=20, files=25, bins=20, cdeps=3, goimports=2)


def measure(name, make, runs, root, url):
    a_src, a_env = checkout(root, f"{name}-a", make)
    cold = scons(a_src, a_env, f"--remote-cache={url}")
    b_src, b_env = checkout(root, f"{name}-b", make)
    warm = scons(b_src, b_env, f"--remote-cache={url}")
    with_remote, without = [], []
    for i in range(runs):  # alternating which goes first, so that neither always runs on a warmer machine
        pair = [lambda: with_remote.append(scons(b_src, b_env, f"--remote-cache={url}")[0]),
                lambda: without.append(scons(b_src, b_env)[0])]
        for run in pair if i % 2 == 0 else reversed(pair):
            run()
    return {"cold": cold, "warm": warm, "null_remote": statistics.median(with_remote),
            "null_local": statistics.median(without)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("examples", "monorepo"))
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="sconsrules-remote-bench-")
    srv = server(os.path.join(root, "bgd"))
    try:
        results = {}
        for name, make in (("examples", examples), ("monorepo", monorepo)):
            if args.only in (None, name):
                results[name] = measure(name, make, args.runs, root, srv.url)
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'':10} {'cold, empty remote':>28} {'fresh checkout, warm remote':>36} "
          f"{'null: remote / none':>24}")
    for name, r in results.items():
        (tc, cc), (tw, cw) = r["cold"], r["warm"]
        print(f"{name:10} {tc:7.1f} s, {cc[2]:4d} built, {cc[0]:3d} remote "
              f"{tw:7.1f} s, {cw[2]:4d} built, {cw[0]:4d} remote ({cw[3]:>22}) "
              f"{r['null_remote']:5.2f} s / {r['null_local']:5.2f} s = {r['null_remote'] / r['null_local']:.2f}x")


if __name__ == "__main__":
    main()
