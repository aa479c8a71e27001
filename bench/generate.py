"""Generates a synthetic monorepo for the benchmarks (bench/run.py).

Default: 40 StaticCLibs of 25 small C files each, 40 GoCgoBinaries in one Go module, each with cdeps on 3
libraries and importing 2 in-module Go packages. `--scale N` multiplies libraries, binaries and packages.
Besides the SConstructs for sconsrules (SConstruct.<style>, SConstruct = the lean one) it writes
SConstruct.plain.<style> (plain SCons StaticLibrary of the same C files, same style: SCons's own floor) and bare
shell scripts issuing the same commands (the floor of our overhead).
"""
import argparse
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "site_scons"))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


def generate(root, libs=40, files=25, bins=40, cdeps=3, goimports=2):
    for n in range(libs):
        fns = [f"int lib{n:03d}_f{k:02d}(int x)" for k in range(files)]
        write(f"{root}/c/lib{n:03d}/lib{n:03d}.h", f"#ifndef LIB{n:03d}_H\n#define LIB{n:03d}_H\n" +
              "".join(f"{f};\n" for f in fns) + "#endif\n")
        for k in range(files):
            write(f"{root}/c/lib{n:03d}/f{k:02d}.c",
                  f'#include "lib{n:03d}.h"\n\n{fns[k]} {{ return x * {k + 1} + {n}; }}\n')
    write(f"{root}/go.mod", "module example.com/mono\n\ngo 1.22\n")
    for n in range(bins):
        write(f"{root}/pkg/g{n:03d}/g.go", f"package g{n:03d}\n\nfunc V() int {{ return {n} }}\n")
    for n in range(bins):
        used = [(n + i) % libs for i in range(cdeps)]
        pkgs = [(n + i) % bins for i in range(goimports)]
        includes = "".join(f'#include "lib{u:03d}.h"\n' for u in used)
        calls = " + ".join(f"int(C.lib{u:03d}_f00(1))" for u in used)
        imports = "".join(f'\t"example.com/mono/pkg/g{p:03d}"\n' for p in pkgs)
        gocalls = " + ".join(f"g{p:03d}.V()" for p in pkgs)
        write(f"{root}/cmd/b{n:03d}/main.go",
              f"package main\n\n/*\n{includes}*/\nimport \"C\"\n\nimport (\n\t\"fmt\"\n\n{imports})\n\n"
              f"func main() {{ fmt.Println({calls} + {gocalls}) }}\n")
    write_sconstructs(root, libs, bins, cdeps)


# The two SConstruct styles, the same on both sides: "readme" is what the README's quick start teaches
# (SCons's default tools, which probe gcc and friends at start-up, plus ours); "lean" loads only what is used
# (no default environment; sconsrules alone / the gcc and ar tools alone for plain SCons).
STYLES = {
    "readme": ('env = Environment(tools=["default", "sconsrules"])', 'env = Environment()'),
    "lean": ('DefaultEnvironment(tools=[])\nenv = Environment(tools=["sconsrules"])',
             'DefaultEnvironment(tools=[])\nenv = Environment(tools=["gcc", "ar"])'),
}


def write_sconstructs(root, libs, bins, cdeps=3):
    """SConstruct.<style> (sconsrules) and SConstruct.plain.<style> (plain SCons StaticLibrary of the same C
    files) for every style."""
    for style, (ours_head, plain_head) in STYLES.items():
        lines = [ours_head, "libs = {}"]
        for n in range(libs):
            lines.append(f'libs[{n}] = env.StaticCLib("lib{n:03d}", srcs=env.Glob("c/lib{n:03d}/*.c"), '
                         f'hdrs=["c/lib{n:03d}/lib{n:03d}.h"], includes=["c/lib{n:03d}"])')
        for n in range(bins):
            used = ", ".join(f"libs[{(n + i) % libs}]" for i in range(cdeps))
            lines.append(f'env.GoCgoBinary("b{n:03d}", package="./cmd/b{n:03d}", cdeps=[{used}])')
        write(f"{root}/SConstruct.{style}", "\n".join(lines) + "\n")
        plain = [plain_head, "env.Decider('content')"]
        for n in range(libs):
            plain.append(f'env.StaticLibrary("build-plain/lib{n:03d}", Glob("c/lib{n:03d}/*.c"), '
                         f'CPPPATH=["c/lib{n:03d}"])')
        write(f"{root}/SConstruct.plain.{style}", "\n".join(plain) + "\n")
    with open(f"{root}/SConstruct.lean") as src:
        write(f"{root}/SConstruct", src.read())


def shell_scripts(root, platform, jobs, libs=40, files=25, bins=40, cdeps=3, goimports=2):
    """Bare commands equal to what sconsrules runs (same compiler, flags, archiver, go build), -P jobs."""
    from sconsrules.configure.platform import Platform
    from sconsrules.configure.toolchains.zig import ZigToolchain
    plat = Platform.parse(platform)
    tc = ZigToolchain()
    cc = shlex.join(tc.cc(plat))
    out = f"{root}/build-sh/{plat.dirname}"
    prefix_map = f"-ffile-prefix-map={root}=."

    def compile_cmd(n, k):
        return (f"{cc} -c {root}/c/lib{n:03d}/f{k:02d}.c -o {out}/lib{n:03d}/f{k:02d}.o -O2 "
                f"-I{root}/c/lib{n:03d} {prefix_map}")

    def archive_cmd(n):
        objs = " ".join(f"{out}/lib{n:03d}/f{k:02d}.o" for k in range(files))
        return f"rm -f {out}/liblib{n:03d}.a && {shlex.join(tc.ar(plat))} rcsD {out}/liblib{n:03d}.a {objs}"

    def go_cmd(n):
        used = [(n + i) % libs for i in range(cdeps)]
        cflags = " ".join(["-O2"] + [f"-I{root}/c/lib{u:03d}" for u in used] + [prefix_map])
        ldflags = " ".join(f"{out}/liblib{u:03d}.a" for u in used)
        env = (f"CGO_ENABLED=1 GOOS=linux GOARCH={plat.info.goarch} CC={shlex.quote(cc)} "
               f"CGO_CFLAGS={shlex.quote(cflags)} CGO_LDFLAGS={shlex.quote(ldflags)} GOFLAGS= GOTOOLCHAIN=local "
               f"GOENV=off GOWORK=off GO111MODULE=on {plat.info.go_env[0][0]}={plat.info.go_env[0][1]}")
        ld = "-s -w -linkmode=external '-extldflags=-static -s' -buildid="
        return (f"cd {root} && {env} go build -trimpath -buildvcs=false -tags netgo,osusergo "
                f"-ldflags {shlex.quote(ld)} -o {out}/b{n:03d} ./cmd/b{n:03d}")

    def script(name, commands_by_phase):
        body = ["#!/bin/sh", "set -e"] + [f"mkdir -p {out}/lib{n:03d}" for n in range(libs)]
        for phase in commands_by_phase:
            listing = "\n".join(phase)
            body.append(f"cat <<'CMDS' | xargs -d '\\n' -P {jobs} -I{{}} sh -c '{{}}'\n{listing}\nCMDS")
        write(f"{root}/{name}", "\n".join(body) + "\n")

    script("build-all.sh", [[compile_cmd(n, k) for n in range(libs) for k in range(files)],
                            [archive_cmd(n) for n in range(libs)], [go_cmd(n) for n in range(bins)]])
    users_of_lib0 = [n for n in range(bins) if 0 in [(n + i) % libs for i in range(cdeps)]]
    script("rebuild-c.sh", [[compile_cmd(0, 0)], [archive_cmd(0)], [go_cmd(n) for n in users_of_lib0]])
    users_of_pkg0 = [n for n in range(bins) if 0 in [(n + i) % bins for i in range(goimports)]]
    script("rebuild-go.sh", [[go_cmd(n) for n in users_of_pkg0]])
    script("go-noop.sh", [[go_cmd(n) for n in range(bins)]])
    return {"c_users": len(users_of_lib0), "go_users": len(users_of_pkg0)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    generate(os.path.abspath(args.root), libs=40 * args.scale, bins=40 * args.scale)


if __name__ == "__main__":
    main()
