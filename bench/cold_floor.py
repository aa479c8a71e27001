"""Where the cold build's overhead comes from: the C part alone (compile + archive of every library, no Go),
three contenders issuing the same zig commands, side by side in one run, at -j1 and -jN:

  shell        the bare commands from a shell script (xargs -P)
  plain SCons  SCons's StaticLibrary with CC/AR set to the same zig cc / zig ar and flags (SCons's own floor)
  sconsrules   the StaticCLib archives of the same tree, asked for by name
  per library  plain SCons with one node per library whose Python action runs that library's compiles, one
               after the other, then the archive: the floor of a StaticCLib that tracks its members itself
               (no verification, no per-member bookkeeping; not a way to build, a measure of SCons's part)

The -j1 ratios are each contender's own work per file; the -jN ratios add how well it keeps N cores busy.
Usage: python bench/cold_floor.py [--runs 3] [--libs 40] [--jobs N]
"""
import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from generate import generate, shell_scripts, write  # noqa: E402
from run import clean, timed  # noqa: E402

SCONS = [sys.executable, "-m", "SCons", "-Q"]


def plain_zig_sconstruct(root, libs):
    """Plain SCons building the C of the tree with exactly the shell script's compiler, flags and archiver."""
    from sconsrules.configure.platform import Platform
    from sconsrules.configure.toolchains.zig import ZigToolchain
    plat, tc = Platform.parse("linux/amd64"), ZigToolchain()
    lines = ["import os", "DefaultEnvironment(tools=[])", 'env = Environment(tools=["gcc", "ar"])',
             f"env.Replace(CC={shlex.join(tc.cc(plat))!r}, AR={shlex.join(tc.ar(plat))!r}, ARFLAGS='rcsD', "
             f"RANLIBCOM='', CCFLAGS=['-O2', '-ffile-prefix-map={root}=.'])",
             "env['ENV'] = dict(os.environ)", "env.Decider('content')"]
    lines += [f'env.StaticLibrary("build-plain/lib{n:03d}", [env.Object("build-plain/o{n:03d}/" + '
              f'os.path.basename(str(f))[:-2], f) for f in Glob("c/lib{n:03d}/*.c")], CPPPATH=["c/lib{n:03d}"])'
              for n in range(libs)]
    write(os.path.join(root, "SConstruct.plain.zig"), "\n".join(lines) + "\n")


def per_library_sconstruct(root, libs):
    """Plain SCons with one node per library: its action runs the library's zig compiles in turn, then zig ar."""
    from sconsrules.configure.platform import Platform
    from sconsrules.configure.toolchains.zig import ZigToolchain
    plat, tc = Platform.parse("linux/amd64"), ZigToolchain()
    text = f"""import os, subprocess
DefaultEnvironment(tools=[])
env = Environment(tools=[])
env.Decider('content')
CC, AR = {list(tc.cc(plat))!r}, {list(tc.ar(plat))!r}


def library(target, source, env):
    out = target[0].abspath
    objs = out + '.objs'
    os.makedirs(objs, exist_ok=True)
    made = []
    for s in source:
        o = os.path.join(objs, s.name[:-2] + '.o')
        subprocess.run(CC + ['-c', s.abspath, '-o', o, '-O2', '-I' + s.dir.abspath, '-ffile-prefix-map={root}=.'],
                       check=True)
        made.append(o)
    if os.path.exists(out):
        os.remove(out)
    subprocess.run(AR + ['rcsD', out] + made, check=True)


for n in range({libs}):
    env.Command(f'build-plain/lib{{n:03d}}.a', Glob(f'c/lib{{n:03d}}/*.c'), library)
"""
    write(os.path.join(root, "SConstruct.per-library"), text)


def c_only_script(root, written_jobs, jobs):
    """build-all.sh (written for `written_jobs`) without its go build phase, at `jobs`."""
    with open(os.path.join(root, "build-all.sh")) as fh:
        phases = fh.read().split("cat <<'CMDS'")
    text = "cat <<'CMDS'".join(phases[:3]).replace(f"-P {written_jobs} ", f"-P {jobs} ")
    name = f"c-only-{jobs}.sh"
    write(os.path.join(root, name), text)
    return name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--libs", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "rules")], check=True)
    root = tempfile.mkdtemp(prefix="sconsrules-cold-floor-")
    generate(root, libs=args.libs, bins=args.libs)
    shell_scripts(root, "linux/amd64", args.jobs, libs=args.libs, bins=args.libs)
    plain_zig_sconstruct(root, args.libs)
    per_library_sconstruct(root, args.libs)
    archives = [f"build/linux-amd64-musl-zig/liblib{n:03d}.a" for n in range(args.libs)]
    print(f"C part of the bench tree ({args.libs} libraries x 25 files), median (min-max) of {args.runs}; "
          "ratios to the shell script at the same -j", flush=True)
    for jobs in sorted({1, args.jobs}):
        contenders = {
            "shell": ["sh", c_only_script(root, args.jobs, jobs)],
            "plain SCons": SCONS + [f"-j{jobs}", "-f", "SConstruct.plain.zig"],
            "sconsrules": SCONS + [f"--site-dir={os.path.join(REPO, 'site_scons')}", f"-j{jobs}",
                                   "--platforms=linux/amd64"] + archives,
            "per library": SCONS + [f"-j{jobs}", "-f", "SConstruct.per-library"],
        }
        for argv in contenders.values():  # zig's cache holds every compile's outcome once: warm it for all
            clean(root)
            timed(argv, root)
        samples = {name: [] for name in contenders}
        for _ in range(args.runs):
            for name, argv in contenders.items():
                clean(root)
                samples[name].append(timed(argv, root)[0])
        base = statistics.median(samples["shell"])
        for name, values in samples.items():
            m = statistics.median(values)
            print(f"  -j{jobs} {name:<12} {m:6.2f} s ({min(values):.2f}-{max(values):.2f})  {m / base:5.2f}x", flush=True)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
