"""This checkout against another revision of sconsrules, side by side on the same synthetic monorepo
(bench/generate.py): null builds and one-leaf-C-edit rebuilds, alternated run by run so that the machine's noise
falls on both alike: null builds, a leaf C edit and an in-module Go edit, each edit also as time above the null
build made right after it. Prints medians (min-max) and the ratio this/other.

Usage: python bench/compare.py REV [--runs 7] [--libs 40] [--files 25] [--bins 40]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from generate import generate  # noqa: E402
from run import edit, stats, timed  # noqa: E402


# What each edit touches (bench/generate.py's tree); "above null" is an edit's build less the null build after it.
EDITS = {"1 leaf C file": os.path.join("c", "lib000", "f00.c"), "1 in-module .go": os.path.join("pkg", "g000", "g.go")}


def checkout(rev, where):
    """The revision's tree (site_scons/ and rules/ are what a build loads), without touching this checkout."""
    subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", where, rev], check=True, capture_output=True)
    return where


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rev", help="the other revision, e.g. HEAD~3 or a commit")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--libs", type=int, default=40)
    parser.add_argument("--files", type=int, default=25)
    parser.add_argument("--bins", type=int, default=40)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="sconsrules-compare-")
    other = checkout(args.rev, os.path.join(scratch, "other"))
    try:
        contenders = {"this": REPO, "other": other}
        roots, argv = {}, {}
        for name, repo in contenders.items():
            roots[name] = os.path.join(scratch, f"tree-{name}")
            generate(roots[name], libs=args.libs, files=args.files, bins=args.bins)
            argv[name] = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={os.path.join(repo, 'site_scons')}",
                          f"-j{args.jobs}", "--platforms=linux/amd64"]
            timed(argv[name], roots[name])  # the cold build (zig's and Go's caches are shared and warm after it)
            timed(argv[name], roots[name])
        null = {name: [] for name in contenders}
        edits = {kind: {name: [] for name in contenders} for kind in EDITS}
        above = {kind: {name: [] for name in contenders} for kind in EDITS}
        for i in range(args.runs):
            for name in contenders:
                null[name].append(timed(argv[name], roots[name])[0])
            for kind, path in EDITS.items():
                for name in contenders:
                    edit(os.path.join(roots[name], path), f"cmp{i}")
                    edits[kind][name].append(timed(argv[name], roots[name])[0])
                    above[kind][name].append(edits[kind][name][-1] - timed(argv[name], roots[name])[0])
        print(f"this checkout vs {args.rev}; -j{args.jobs}; {args.runs} runs each, alternated; size "
              f"{args.libs} libs x {args.files} C files, {args.bins} binaries")
        rows = [("null build", null)] + [(f"edit {kind}", edits[kind]) for kind in EDITS]
        rows += [(f"{kind}, above null", above[kind]) for kind in EDITS]
        for label, samples in rows:
            this, base = stats(samples["this"]), stats(samples["other"])
            print(f"{label:<28} this {this['median']:6.2f}s ({this['min']:.2f}-{this['max']:.2f})  other "
                  f"{base['median']:6.2f}s ({base['min']:.2f}-{base['max']:.2f})  ratio {this['median'] / base['median']:.2f}x")
    finally:
        subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", other], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
