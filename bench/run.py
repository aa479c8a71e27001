"""The benchmark runner: sconsrules side by side with its floors on a synthetic monorepo (bench/generate.py).

Measured, median/min/max of --runs runs each, in one run of this script:
  1. cold full build          vs the same compiler/archiver/go commands from a shell script, same -j
  2. null build               vs plain SCons (StaticLibrary, same C files) with the same SConstruct style on both
                              sides (bench/generate.py STYLES: "readme", the quick start's; "lean"), at the small,
                              1x and 4x sizes; and vs `go build` no-ops
  3. one C file edited (leaf) vs the bare commands that rebuild exactly what is needed (time above the null build)
  4. one in-module .go edited vs the bare `go build`s of its dependents (time above the null build)
  5. --platforms switched back and forth: artifacts rebuilt (target 0)
plus the null build's peak memory and subprocess count; with --every-size, 1, 3 and 4 at the other sizes of
--sizes too; then, side by side in the same run, --also:
  container                   the container toolchain against native (bench/container_vs_native.py: warm
                              rebuild with a kept builder, target 1.3x; per action; null build)
  zig                         zig's first use per architecture with fresh caches (bench/zig_first_use.py;
                              minutes, so not by default)
Our package is byte-compiled first, as pip does when
it installs it (this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise recompile it every run).
Go's build cache is shared and warm for every contender (cold = our output tree and SCons state removed).
Prints a table of ratios and writes bench/results.json. Usage: python bench/run.py [--runs 5] [--growth 1,2,4]
"""
import argparse
import json
import os
import platform
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

from generate import STYLES, generate, shell_scripts  # noqa: E402

SCONS = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={os.path.join(REPO, 'site_scons')}"]
STEP = re.compile(r"^(?:\[\d+/\d+\] )?(StaticCLib|GoCgoBinary) ", re.M)  # after the progress counter


def timed(argv, cwd, check=True):
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc


def stats(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": len(samples)}


def clean(root):
    for name in ("build", "build-sh", "build-plain"):
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    for name in (".sconsign.dblite",):
        if os.path.exists(os.path.join(root, name)):
            os.remove(os.path.join(root, name))


def edit(path, marker):
    with open(path, "a") as fh:
        fh.write(f"\n// {marker}\n" if path.endswith(".go") else f"\nint bench_edit_{marker}(void) {{ return 1; }}\n")


def peak_rss_and_execs(root, argv):
    """Peak RSS (MiB) of a null build, and how many processes it started (strace, when available)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    rss = int(subprocess.run([sys.executable, "-c", code] + argv, cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()) / 1024
    execs = None
    if shutil.which("strace"):
        log = os.path.join(tempfile.mkdtemp(), "execs")
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", log] + argv, cwd=root, capture_output=True)
        with open(log) as fh:
            execs = max(0, sum(1 for line in fh if "execve(" in line and "= 0" in line) - 1)
    return rss, execs


SIZES = {"small": dict(libs=20, files=25, bins=20), "1x": dict(libs=40, files=25, bins=40),
         "4x": dict(libs=160, files=25, bins=160)}


def null_by_style(root, jobs, runs):
    """Null builds of ours and plain SCons, per SConstruct style, alternating, after one warm-up each."""
    out = {}
    for style in STYLES:
        ours = SCONS + [f"-j{jobs}", "--platforms=linux/amd64", "-f", f"SConstruct.{style}"]
        plain = [sys.executable, "-m", "SCons", "-Q", f"-j{jobs}", "-f", f"SConstruct.plain.{style}"]
        timed(ours, root)
        timed(plain, root)
        samples_ours, samples_plain = [], []
        for _ in range(runs):
            t, proc = timed(ours, root)
            assert not STEP.search(proc.stdout), proc.stdout
            samples_ours.append(t)
            samples_plain.append(timed(plain, root)[0])
        out[style] = {"ours": stats(samples_ours), "plain_scons": stats(samples_plain)}
    return out


def cold_and_edits(root, jobs, runs, size):
    """Cold builds against the shell script, then one-file C and Go edits against the bare commands (with the
    null builds they are measured above), on the tree at `root`."""
    counts = shell_scripts(root, "linux/amd64", jobs, **size)
    ours = SCONS + [f"-j{jobs}", "--platforms=linux/amd64"]
    timed(ours, root)  # warm zig's libc and Go's build cache for every contender
    timed(["sh", "build-all.sh"], root)
    cold_ours, cold_sh = [], []
    for _ in range(runs):
        clean(root)
        cold_ours.append(timed(ours, root)[0])
        clean(root)
        cold_sh.append(timed(["sh", "build-all.sh"], root)[0])
    timed(ours, root)
    timed(["sh", "build-all.sh"], root)
    null_ours = []
    for _ in range(runs):
        t, proc = timed(ours, root)
        assert not STEP.search(proc.stdout), proc.stdout
        null_ours.append(t)
    inc_c_ours, inc_c_sh, inc_go_ours, inc_go_sh, rebuilt_c, rebuilt_go = [], [], [], [], [], []
    for i in range(runs):
        edit(os.path.join(root, "c", "lib000", "f00.c"), f"c{i}")
        t, proc = timed(ours, root)
        inc_c_ours.append(t)
        rebuilt_c.append(len(STEP.findall(proc.stdout)))
        inc_c_sh.append(timed(["sh", "rebuild-c.sh"], root)[0])
        edit(os.path.join(root, "pkg", "g000", "g.go"), f"g{i}")
        t, proc = timed(ours, root)
        inc_go_ours.append(t)
        rebuilt_go.append(len(STEP.findall(proc.stdout)))
        inc_go_sh.append(timed(["sh", "rebuild-go.sh"], root)[0])
    return {"cold": {"ours": stats(cold_ours), "shell": stats(cold_sh)}, "null": {"ours": stats(null_ours)},
            "edit_c": {"ours": stats(inc_c_ours), "bare": stats(inc_c_sh), "steps": rebuilt_c,
                       "expected_steps": 2 + counts["c_users"]},
            "edit_go": {"ours": stats(inc_go_ours), "bare": stats(inc_go_sh), "steps": rebuilt_go,
                        "expected_steps": counts["go_users"]}}


def run(args):
    jobs = args.jobs
    results = {"machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python "
                          f"{platform.python_version()}", "jobs": jobs, "runs": args.runs}
    root = tempfile.mkdtemp(prefix="sconsrules-bench-")
    size = dict(libs=args.libs, files=args.files, bins=args.bins)
    results["size"] = size
    generate(root, **size)
    ours = SCONS + [f"-j{jobs}", "--platforms=linux/amd64"]
    measured = cold_and_edits(root, jobs, args.runs, size)
    timed([sys.executable, "-m", "SCons", "-Q", "-f", "SConstruct.plain.lean", f"-j{jobs}"], root)

    null_ours, null_plain, null_go = [], [], []
    for _ in range(args.runs):
        t, proc = timed(ours, root)
        assert not STEP.search(proc.stdout), proc.stdout
        null_ours.append(t)
        null_plain.append(timed([sys.executable, "-m", "SCons", "-Q", "-f", "SConstruct.plain.lean", f"-j{jobs}"], root)[0])
        null_go.append(timed(["sh", "go-noop.sh"], root)[0])
    rss, execs = peak_rss_and_execs(root, ours)

    switch = SCONS + [f"-j{jobs}"]
    timed(switch + ["--platforms=linux/arm64"], root)
    switched = []
    for target in ["linux/amd64", "linux/arm64", "linux/amd64,linux/arm64", "linux/amd64"]:
        _, proc = timed(switch + [f"--platforms={target}"], root)
        switched.append(len(STEP.findall(proc.stdout)))

    results["cold"] = measured["cold"]
    results["null"] = {"ours": stats(null_ours), "plain_scons": stats(null_plain), "go_noop": stats(null_go),
                       "peak_rss_mib": rss, "processes_started": execs}
    results["edit_c"], results["edit_go"] = measured["edit_c"], measured["edit_go"]
    results["platform_switch_rebuilt"] = switched
    results["null_styles"] = {"1x": null_by_style(root, jobs, args.runs)}
    results["other_sizes"] = {}
    shutil.rmtree(root, ignore_errors=True)

    for name in args.sizes:
        if name == "1x":
            continue
        sroot = tempfile.mkdtemp(prefix=f"sconsrules-bench-{name}-")
        generate(sroot, **SIZES[name])
        if args.every_size:
            results["other_sizes"][name] = cold_and_edits(sroot, jobs, args.runs, SIZES[name])
        else:
            timed(ours, sroot)
        results["null_styles"][name] = null_by_style(sroot, jobs, args.runs)
        shutil.rmtree(sroot, ignore_errors=True)
    return results


def table(r):
    def line(name, ours, base, target):
        ratio = ours["median"] / base["median"]
        ok = "" if target is None else ("  met" if ratio <= target else f"  MISSED (target {target}x)")
        return (f"{name:<46} {ours['median']:7.2f}s ({ours['min']:.2f}-{ours['max']:.2f})  vs "
                f"{base['median']:7.2f}s ({base['min']:.2f}-{base['max']:.2f})  {ratio:5.2f}x{ok}")
    out = [f"machine: {r['machine']}; -j{r['jobs']}; {r['runs']} runs each (median (min-max)); size {r['size']}", ""]
    out.append(line("cold full build vs shell script", r["cold"]["ours"], r["cold"]["shell"], 1.15))
    for size, m in r.get("other_sizes", {}).items():
        out.append(line(f"cold {size} vs shell script", m["cold"]["ours"], m["cold"]["shell"], 1.15))
    for size, styles in r["null_styles"].items():
        for style, s in styles.items():
            out.append(line(f"null {size} ({style}) vs plain SCons", s["ours"], s["plain_scons"], 1.0))
    out.append(line("null build vs go build no-ops", r["null"]["ours"], r["null"]["go_noop"], None))
    trees = [("", r)] + [(f" {size}", m) for size, m in r.get("other_sizes", {}).items()]
    for key, name in (("edit_c", "edit 1 leaf C file"), ("edit_go", "edit 1 in-module .go")):
        for size, m in trees:
            null = m["null"]["ours"]["median"]
            above = {k: max(0.0, v - null) for k, v in m[key]["ours"].items() if k != "runs"}
            out.append(line(f"{name}{size}, above null, vs bare", dict(above, runs=m[key]["ours"]["runs"]),
                            m[key]["bare"], 1.3))
    for size, m in trees:
        out.append(f"{'steps rebuilt (C edit / Go edit)' + size:<46} {m['edit_c']['steps']} (expected "
                   f"{m['edit_c']['expected_steps']}) / {m['edit_go']['steps']} (expected {m['edit_go']['expected_steps']})")
    out.append(f"{'platform switch: artifacts rebuilt':<46} {r['platform_switch_rebuilt']} (target 0)")
    out.append(f"{'null build peak RSS / processes':<46} {r['null']['peak_rss_mib']:.0f} MiB / "
               f"{r['null']['processes_started']} started")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sizes", default="small,1x,4x", help="sizes of the null builds by style: small,1x,4x")
    parser.add_argument("--every-size", action="store_true",
                        help="cold builds and edits at every size of --sizes too (the 4x cold build: minutes)")
    parser.add_argument("--libs", type=int, default=40)
    parser.add_argument("--files", type=int, default=25, help="C files per library")
    parser.add_argument("--bins", type=int, default=40)
    parser.add_argument("--also", default="container", help="side benchmarks after the table: container, zig")
    args = parser.parse_args()
    also = {"container": ["container_vs_native.py", "--runs", str(args.runs)],
            "zig": ["zig_first_use.py", "--runs", "1", "--arch", "amd64"]}
    args.also = [x for x in args.also.split(",") if x]
    if set(args.also) - set(also):
        parser.error(f"unknown --also {sorted(set(args.also) - set(also))[0]} (known: {', '.join(also)})")
    args.sizes = [x for x in args.sizes.split(",") if x]
    unknown = sorted(set(args.sizes) - set(SIZES))
    if unknown:
        parser.error(f"unknown size {unknown[0]} (known: {', '.join(SIZES)})")
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "rules")], check=True)
    results = run(args)
    with open(os.path.join(HERE, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    print(table(results))
    for name in args.also:
        print(f"\n{name} (bench/{also[name][0]}):", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, also[name][0])] + also[name][1:], check=False)


if __name__ == "__main__":
    main()
