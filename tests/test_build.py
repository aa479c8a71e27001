"""Real builds with zig and musl-gcc: outputs run (arm64 under qemu), and each incremental rule holds."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import SITE_DIR, require, run_binary

pytestmark = pytest.mark.integration

SCONSTRUCT = 'env = Environment(tools=["default", "sconsrules"])\nSConscript("SConscript", exports="env")\n'
CHAIN_OUT = "chain: mid=77 base=7 k=7\n"


def chain_project(project, toolchain="zig", platforms=("linux/amd64", "linux/arm64")):
    project.copy_example("clib-chain")
    project.write("SConstruct", SCONSTRUCT)
    text = project.read("SConscript")
    text = text.replace('platforms=["linux/amd64", "linux/arm64"], toolchain="zig"',
                        f"platforms={list(platforms)!r}, toolchain={toolchain!r}")
    project.write("SConscript", text)
    return project


def artifact(project, config, name="chain"):
    return project.path("build", config, name)


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def test_zig_builds_both_platforms_and_they_run(project):
    require("zig")
    chain_project(project)
    result = project.scons()
    for config, platform in [("linux-amd64-musl-zig", "linux/amd64"), ("linux-arm64-musl-zig", "linux/arm64")]:
        path = artifact(project, config)
        assert run_binary(path, platform).stdout == CHAIN_OUT
        with open(path + ".verify.json") as fh:
            report = json.load(fh)
        assert report["ok"] and report["summary"]["link_type"] == "static" and report["summary"]["stripped"]
        assert report["summary"]["machine"] == {"linux/amd64": "EM_X86_64", "linux/arm64": "EM_AARCH64"}[platform]
    assert "sconsrules: artifacts (verified)" in result.stdout and "warning" not in result.output
    assert len(result.ran("StaticCLib", what="compile")) == 4  # 2 libraries x 2 platforms


def test_musl_gcc_builds_for_the_host(project):
    require("musl-gcc")
    chain_project(project, toolchain="musl-gcc", platforms=("linux/amd64",))
    project.scons()
    assert run_binary(artifact(project, "linux-amd64-musl-musl-gcc"), "linux/amd64").stdout == CHAIN_OUT


def test_musl_gcc_refuses_a_foreign_platform(project):
    require("musl-gcc")
    chain_project(project, toolchain="musl-gcc", platforms=("linux/arm64",))
    result = project.scons(check=False)
    assert result.returncode == 2
    assert "GoCgoBinary 'chain': toolchain 'musl-gcc' builds only for the host, not linux/arm64" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The chain example built once per module for both platforms, and a snapshot of the whole project."""
    from conftest import Project
    require("zig")
    base = tmp_path_factory.mktemp("built")
    project = chain_project(Project(base / "proj"))
    project.scons()
    shutil.copytree(project.root, str(base / "snapshot"), symlinks=True)
    return project, str(base / "snapshot")


@pytest.fixture
def built(pristine):
    """The built project as the module's one build left it, at the same path (signatures name the checkout):
    a test may edit and rebuild it; the next test gets the pristine copy back."""
    project, snapshot = pristine
    shutil.rmtree(project.root)
    shutil.copytree(snapshot, project.root, symlinks=True)
    return project


def rebuilt(result):
    return sorted((s[0], s[1], s[2].split()[0]) for s in result.steps())


def test_null_build_runs_nothing_and_starts_no_tool(built, tmp_path):
    require("strace", "to watch which processes a null build starts")
    log = str(tmp_path / "execs")
    result = built.scons(strace=log)
    assert result.steps() == []
    with open(log) as fh:
        execs = [line for line in fh if "execve(" in line]
    ours = [line for line in execs if any(tool in line for tool in ('/zig"', '/go"', "musl-gcc", '/ar"'))]
    assert ours == [], ours
    assert built.scons("-q").returncode == 0


def test_touch_without_change_rebuilds_nothing(built):
    for rel in ("c/base/base.c", "c/mid/mid.h", "cmd/chain/main.go", "go.mod"):
        os.utime(built.path(rel))
    assert built.scons().steps() == []


def test_leaf_c_change_rebuilds_exactly_its_dependents(built):
    with open(built.path("c/base/base.c"), "a") as fh:
        fh.write("int base_extra(void) { return 1; }\n")
    result = built.scons()
    assert rebuilt(result) == sorted([("StaticCLib", "base", "compile"), ("StaticCLib", "base", "archive"),
                                      ("GoCgoBinary", "chain", "go")] * 2)


def test_dry_run_lists_every_step_the_build_then_runs(built):
    """`scons -n` after a leaf .c edit names the compile, the archive and the link behind it (SCons alone names
    only the compile: a dry run changes no input's content); the real build then runs exactly those, and a dry
    run after it lists nothing."""
    with open(built.path("c/base/base.c"), "a") as fh:
        fh.write("int base_extra(void) { return 1; }\n")
    dry = built.scons("-n")
    assert rebuilt(dry) == sorted([("StaticCLib", "base", "compile"), ("StaticCLib", "base", "archive"),
                                   ("GoCgoBinary", "chain", "go")] * 2)
    steps = [line for line in dry.stdout.splitlines() if "StaticCLib" in line and ": compile " not in line]
    assert steps and all(line.startswith("[") for line in steps)  # the counter too (a member's line has none)
    assert rebuilt(built.scons()) == rebuilt(dry)
    assert built.scons("-n").steps() == []


def test_progress_counts_steps_and_says_before_slow_first_work(built):
    """Each step line starts with [n/total] (n counts up-to-date steps too, so it ends at total); zig's one-time
    libc build for a target is announced once per run: when the build starts it in the background, or before
    the target's first step in a dry run."""
    from sconsrules.configure.platform import Platform
    from sconsrules.configure.toolchains.zig import ZigToolchain
    marks = [ZigToolchain()._ready_mark(Platform.parse(p)) for p in ("linux/amd64", "linux/arm64")]
    os.remove(marks[1])
    with open(built.path("c/base/base.c"), "a") as fh:
        fh.write("int base_extra(void) { return 1; }\n")
    said = ("sconsrules: first link with zig for aarch64-linux-musl on this machine: unless its cache holds them, zig "
            "compiles musl's libc for it once (about 35 s; C++ adds libc++, a few minutes)")
    dry = built.scons("-n").stdout.splitlines()  # a dry run starts nothing: said before the link it would run
    assert [line for line in dry if "first link with zig" in line] == [said]
    assert dry.index(said) == dry.index(next(x for x in dry if "[linux-arm64-musl-zig]" in x)) - 1
    out = built.scons().stdout.splitlines()
    counters = [line.split()[0] for line in out if line.startswith("[")]
    assert counters == ["[2/6]", "[3/6]", "[5/6]", "[6/6]"]  # base's step (compile, archive), the link; x 2
    # the build starts zig's libc in the background before its first step (execute/warmup.py), and says so once
    assert [line for line in out if "first link with zig" in line] == [said + ": started now, in the background"]
    assert out[0] == said + ": started now, in the background"
    assert all(os.path.exists(m) for m in marks)  # the link succeeded: not said again
    with open(built.path("c/base/base.c"), "a") as fh:
        fh.write("int base_extra2(void) { return 2; }\n")
    assert "first link" not in built.scons().stdout


def test_header_change_rebuilds_includers(built):
    with open(built.path("c/base/base.h"), "a") as fh:
        fh.write("/* changed */\n")
    result = built.scons()
    # base.h is included by base.c, mid.c (through mid.h) and the cgo preamble (through mid.h). Each library's
    # step compiles the member that read it and archives again.
    assert rebuilt(result) == sorted([("StaticCLib", "base", "compile"), ("StaticCLib", "base", "archive"),
                                      ("StaticCLib", "mid", "compile"), ("StaticCLib", "mid", "archive"),
                                      ("GoCgoBinary", "chain", "go")] * 2)


def test_go_change_rebuilds_only_binaries(built):
    main = built.read("cmd/chain/main.go").replace('"chain: ', '"chain2: ')
    built.write("cmd/chain/main.go", main)
    result = built.scons()
    assert rebuilt(result) == [("GoCgoBinary", "chain", "go")] * 2
    assert run_binary(artifact(built, "linux-amd64-musl-zig"), "linux/amd64").stdout.startswith("chain2: ")


def test_in_module_imported_package_change_rebuilds(built):
    built.write("internal/msg/msg.go", 'package msg\n\nconst Prefix = "chain"\n')
    main = built.read("cmd/chain/main.go").replace('import "fmt"', 'import (\n\t"fmt"\n\n\t"example.com/clib-chain/internal/msg"\n)')
    main = main.replace('fmt.Printf("chain: ', 'fmt.Printf(msg.Prefix+": ')
    built.write("cmd/chain/main.go", main)
    built.scons()
    built.write("internal/msg/msg.go", 'package msg\n\nconst Prefix = "chained"\n')
    result = built.scons()
    assert rebuilt(result) == [("GoCgoBinary", "chain", "go")] * 2
    assert run_binary(artifact(built, "linux-amd64-musl-zig"), "linux/amd64").stdout.startswith("chained: ")
    built.write("internal/unrelated/u.go", "package unrelated\n")
    assert built.scons().steps() == []


def test_go_mod_change_rebuilds(built):
    with open(built.path("go.mod"), "a") as fh:
        fh.write("\n// a comment\n")
    assert rebuilt(built.scons()) == [("GoCgoBinary", "chain", "go")] * 2


def test_define_change_travels_to_dependents(built):
    built.write("SConscript", built.read("SConscript").replace("BASE_K=7", "BASE_K=8"))
    result = built.scons()
    assert rebuilt(result) == sorted([("StaticCLib", "base", "compile"), ("StaticCLib", "base", "archive"),
                                      ("StaticCLib", "mid", "compile"), ("StaticCLib", "mid", "archive"),
                                      ("GoCgoBinary", "chain", "go")] * 2)
    assert run_binary(artifact(built, "linux-amd64-musl-zig"), "linux/amd64").stdout == "chain: mid=88 base=8 k=8\n"


def test_private_copts_do_not_travel(built):
    built.write("SConscript", built.read("SConscript").replace('copts=["-O2"]', 'copts=["-O2", "-ffunction-sections"]'))
    result = built.scons()
    assert rebuilt(result) == sorted([("StaticCLib", "base", "compile"), ("StaticCLib", "base", "archive"),
                                      ("GoCgoBinary", "chain", "go")] * 2)


def test_binary_attribute_change_rebuilds_only_the_binary(built):
    built.write("SConscript", built.read("SConscript").replace('cdeps=[mid],', 'cdeps=[mid], x_defs={"main.x": "y"},'))
    assert rebuilt(built.scons()) == [("GoCgoBinary", "chain", "go")] * 2


def test_platform_switch_back_and_forth_rebuilds_nothing(built):
    built.write("SConscript", built.read("SConscript").replace(
        'platforms=["linux/amd64", "linux/arm64"]', "platforms=None"))
    assert built.scons("--platforms=linux/arm64").steps() == []
    assert built.scons("--platforms=linux/amd64").steps() == []
    assert built.scons("--platforms=linux/amd64,linux/arm64").steps() == []


def test_cli_platforms_select_among_declared(built):
    os.remove(artifact(built, "linux-amd64-musl-zig"))
    result = built.scons("--platforms=linux/arm64")
    assert result.steps() == []
    assert not os.path.exists(artifact(built, "linux-amd64-musl-zig"))


def test_failed_verification_leaves_nothing_and_the_fix_builds_clean(project):
    require("musl-gcc")
    built = chain_project(project, toolchain="musl-gcc", platforms=("linux/amd64",))
    built.scons()
    path = artifact(built, "linux-amd64-musl-musl-gcc")
    good = sha(path)
    original = built.read("SConscript")
    built.write("SConscript", original.replace("linkopts=[]", 'linkopts=["-Wl,-z,execstack"]'))
    result = built.scons(check=False)
    assert result.returncode == 2
    assert "GoCgoBinary 'chain': [linux-amd64-musl-musl-gcc] verify failed: hardening.gnu-stack" in result.stderr
    assert "PT_GNU_STACK rwx" in result.stderr
    assert not os.path.exists(path) and not os.path.exists(path + ".sconsrules-tmp")
    again = built.scons(check=False)  # still broken: never "up to date" with a bad file
    assert again.returncode == 2
    built.write("SConscript", original)
    fixed = built.scons()
    assert ("GoCgoBinary", "chain", "go") in rebuilt(fixed)
    assert sha(path) == good


def test_compile_error_leaves_no_object_and_names_the_target(built):
    obj = built.path("build/linux-amd64-musl-zig/_objs/mid/c/mid/mid.o")
    assert os.path.exists(obj)
    source = built.read("c/mid/mid.c")
    built.write("c/mid/mid.c", source + "int broken(\n")
    result = built.scons(check=False)
    assert result.returncode == 2
    assert "StaticCLib 'mid':" in result.stderr and "compile c/mid/mid.c failed" in result.stderr
    assert not os.path.exists(obj)
    built.write("c/mid/mid.c", source)
    assert built.scons().returncode == 0


def test_reproducible_across_checkouts(built, tmp_path):
    from conftest import Project
    other = chain_project(Project(tmp_path / "elsewhere" / "deeper"))
    other.scons()
    for config in ("linux-amd64-musl-zig", "linux-arm64-musl-zig"):
        assert sha(artifact(built, config)) == sha(artifact(other, config))
        with open(artifact(built, config), "rb") as fh:
            data = fh.read()
        assert built.root.encode() not in data


def test_verify_relaxation_with_reason_builds_and_shows_in_the_report(project):
    require("musl-gcc")
    built = chain_project(project, toolchain="musl-gcc", platforms=("linux/amd64",))
    text = built.read("SConscript").replace("linkopts=[]", 'linkopts=["-Wl,-z,execstack"]')
    built.write("SConscript", text.replace('cdeps=[mid],', 'cdeps=[mid], verify={"hardening.gnu-stack": "legacy asm"},'))
    built.scons()
    with open(artifact(built, "linux-amd64-musl-musl-gcc") + ".verify.json") as fh:
        report = json.load(fh)
    stack = [c for c in report["checks"] if c["check"] == "hardening.gnu-stack"][0]
    assert report["ok"] and stack == {"check": "hardening.gnu-stack", "ok": False, "relaxed": "legacy asm",
                                      "reason": stack["reason"], "evidence": "PT_GNU_STACK rwx"}


def test_environment_default_relaxation(project):
    require("musl-gcc")
    built = chain_project(project, toolchain="musl-gcc", platforms=("linux/amd64",))
    built.write("SConscript", built.read("SConscript").replace("linkopts=[]", 'linkopts=["-Wl,-z,execstack"]'))
    built.write("SConstruct", SCONSTRUCT.replace("])", "], SCONSRULES_VERIFY={'hardening.gnu-stack': 'vendor blob'})"))
    built.scons()
    with open(artifact(built, "linux-amd64-musl-musl-gcc") + ".verify.json") as fh:
        assert "vendor blob" in fh.read()


def test_build_report_holds_go_build_info(built):
    with open(artifact(built, "linux-arm64-musl-zig") + ".verify.json") as fh:
        report = json.load(fh)
    go = report["summary"]["go"]
    assert go["path"] == "example.com/clib-chain/cmd/chain"
    assert go["settings"]["GOARCH"] == "arm64" and go["settings"]["CGO_ENABLED"] == "1"
    checks = {c["check"]: c for c in report["checks"]}
    for check in ("go.cgo", "go.goos", "go.goarch", "go.trimpath", "leaks.strings", "stripped", "libc"):
        assert checks[check]["ok"], checks[check]


def test_musl_gcc_sees_linux_kernel_headers(project):
    """Kernel headers (<linux/...>) are libc-neutral; musl-gcc gets them without glibc's /usr/include."""
    require("musl-gcc")
    project.write("k.c", "#include <linux/mman.h>\n#include <sys/mman.h>\nint k(void) { return MAP_HUGE_2MB != 0; }\n")
    project.write("SConstruct", "env = Environment(tools=['default', 'sconsrules'])\nenv.StaticCLib('k', srcs=['k.c'])\n")
    result = project.scons("--toolchain=musl-gcc", "--platforms=linux/amd64")
    assert ("StaticCLib", "k", "compile k.c", "linux-amd64-musl-musl-gcc") in result.steps()
    assert os.path.isfile(project.path("build/linux-amd64-musl-musl-gcc/libk.a"))


def test_header_macro_change_reaches_the_cgo_code(project):
    """Go's build cache keys cgo compiles on flags and the package's own files, not on headers elsewhere: the
    binary must still see a changed macro from a cdep's header (a digest of C inputs goes into CGO_CFLAGS)."""
    require("zig")
    chain_project(project, platforms=("linux/amd64",))
    base_h = project.read("c/base/base.h").replace("int base_value(void);", "int base_value(void);\n#define EXTRA 1")
    project.write("c/base/base.h", base_h)
    main = project.read("cmd/chain/main.go").replace('k=%d\\n", ', 'k=%d extra=%d\\n", ').replace(
        "int(C.BASE_K))", "int(C.BASE_K), int(C.EXTRA))")
    project.write("cmd/chain/main.go", main)
    project.scons()
    binary = artifact(project, "linux-amd64-musl-zig")
    assert run_binary(binary, "linux/amd64").stdout.endswith("extra=1\n")
    project.write("c/base/base.h", base_h.replace("#define EXTRA 1", "#define EXTRA 2"))
    project.scons()
    assert run_binary(binary, "linux/amd64").stdout.endswith("extra=2\n")


SEVEN = ("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386", "linux/riscv64", "linux/ppc64le", "linux/s390x")
SEVEN_EXAMPLES = {"clib-chain": ("chain", CHAIN_OUT), "hello-cgo": ("hello-cgo", "hello from cgo: 42\n"),
                  "cxx": ("shapes-app", "circle area=15 caught=-1 own=hello from c++2017\n"),
                  "sqlite": ("sqlite-query", "sqlite 3.50.4: sum=42\n")}


def test_examples_on_seven_platforms(project):
    """clib-chain, hello-cgo, the C++ example (exceptions thrown and caught in libc++) and sqlite (go-sqlite3's
    amalgamation, from the module proxy) built by zig and Go for every platform; each binary verified (its machine, byte order, musl's _start) and run (under qemu-user, or
    natively where the host's kernel runs it)."""
    from sconsrules.configure.platform import Platform
    require("zig")
    for example in SEVEN_EXAMPLES:
        project.copy_example(example, example)
    chain = project.read("clib-chain/SConscript").replace(
        'platforms=["linux/amd64", "linux/arm64"], toolchain="zig"', 'toolchain="zig"')
    project.write("clib-chain/SConscript", chain)
    project.write("SConstruct", f'env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS={list(SEVEN)!r})\n'
                  f'for example in {sorted(SEVEN_EXAMPLES)!r}:\n    SConscript(f"{{example}}/SConscript", exports="env")\n')
    result = project.scons(f"-j{os.cpu_count() or 1}")  # 28 binaries: cold, zig builds libc and libc++ seven times
    for text in SEVEN:
        platform = Platform.parse(text)
        for example, (name, output) in SEVEN_EXAMPLES.items():
            path = project.path("build", f"{platform.dirname}-zig", example, name)
            assert run_binary(path, text).stdout == output, (text, example)
            with open(path + ".verify.json") as fh:
                report = json.load(fh)
            assert report["ok"] and report["summary"]["libc"] == "musl" and report["summary"]["link_type"] == "static"
            assert report["summary"]["machine"] == platform.info.elf_machine
    assert "build/linux-s390x-musl-zig/cxx/shapes-app" in result.stdout  # the summary lists every platform
    assert project.scons().steps() == []


def test_musl_gcc_refuses_cxx_with_the_reason(project):
    """The real musl-gcc toolchain and the C++ example: one line naming the cause, before anything is built."""
    require("musl-gcc")
    project.copy_example("cxx")
    project.write("SConstruct", SCONSTRUCT)
    result = project.scons("--toolchain=musl-gcc", f"--platforms={host_platform()}", check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert "StaticCLib 'shapes': [" in result.stderr and "musl-gcc has no C++: Debian ships no libstdc++ built for " \
        "musl" in result.stderr and "hint: build C++ with toolchain='zig'" in result.stderr
    assert result.steps() == []


def host_platform():
    from sconsrules.configure.platform import Platform
    return str(Platform.host())


def test_cdeps_of_a_build_without_cgo_are_reported_unused(project):
    """A Go program that imports no "C" anywhere (not even in a dependency) cannot use its cdeps: the build says
    so, once per platform, and still builds."""
    require("zig")
    project.write("go.mod", "module example.com/plain\n\ngo 1.22\n")
    project.write("main.go", 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("plain") }\n')
    project.write("c/k.c", "int k(void) { return 7; }\n")
    project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS=["linux/amd64"])\n'
                                'k = env.StaticCLib("k", srcs=["c/k.c"])\n'
                                'env.GoCgoBinary("plain", package=".", cdeps=[k])\n')
    result = project.scons()
    assert ("sconsrules: warning: GoCgoBinary 'plain': [linux-amd64-musl-zig] cdeps k are unused: no package of this "
            'build imports "C"') in result.stdout
    assert run_binary(project.path("build", "linux-amd64-musl-zig", "plain"), "linux/amd64").stdout == "plain\n"


def test_help_lists_the_declared_targets_after_the_options(project):
    """`scons -h`: SCons's and our options, then every declared target with its rule and platforms; nothing built."""
    require("zig")
    chain_project(project)
    result = project.scons("-h")
    out = result.stdout
    assert "--platforms=LIST" in out and "--toolchain=NAME" in out
    targets = out.split("sconsrules targets (`scons NAME` builds one; --platforms narrows the platforms):\n")[1]
    rows = [line.split() for line in targets.split("\n\n")[0].splitlines()]
    assert rows == [["base", "StaticCLib", "linux/amd64", "linux/arm64", "(zig)"],
                    ["mid", "StaticCLib", "linux/amd64", "linux/arm64", "(zig)"],
                    ["chain", "GoCgoBinary", "linux/amd64", "linux/arm64", "(zig)"]]
    assert not os.path.exists(project.path("build", "linux-amd64-musl-zig", "chain"))


def test_subcommands_prints_each_command_ready_to_paste(project, tmp_path):
    """--subcommands: every command, with the environment the build gives it, before it runs; a printed compile
    pasted into a shell compiles again (here, into the same temporary name, which the build removed)."""
    require("zig")
    chain_project(project, platforms=("linux/amd64",))
    out = project.scons("--subcommands").stdout
    lines = out.splitlines()
    compiles = [lines[i + 1].strip() for i, line in enumerate(lines)
                if line == "sconsrules: [linux-amd64-musl-zig] command:" and " -c " in lines[i + 1]]
    assert len(compiles) == 3 and all("ZIG_GLOBAL_CACHE_DIR=" in c and " cc -target x86_64-linux-musl" in c
                                      for c in compiles)
    assert sum("/manifest-1024.c -o " in c for c in compiles) == 1  # the manifests' template, before the first link
    # The link, with its flags: what a Call runs through the executor is shown too. No go list: the sources, read
    # with the SConscripts, show stdlib and in-module packages only (tests/test_cgo_modules.py lists a module's).
    assert any("go build -trimpath" in line and "CGO_LDFLAGS=" in line for line in lines)
    assert not any("go list -deps " in line for line in lines)
    assert "sconsrules: [linux-amd64-musl-zig] in-process: sconsrules.execute.golinks:link" in lines
    target = compiles[0].split(" -o ")[1].split()[0]
    assert not os.path.exists(target)
    subprocess.run(["sh", "-c", compiles[0]], check=True)
    assert os.path.getsize(target) > 0
    assert project.scons("--subcommands").steps() == [] and "command" not in project.scons("--subcommands").stdout


def test_clean_removes_every_configuration(project):
    """`scons -c chain` removes chain from every configuration it was built in, also one this run does not
    declare (an earlier musl-gcc build); `scons -c` removes the whole build directory."""
    require("zig")
    require("musl-gcc")
    chain_project(project, toolchain="musl-gcc", platforms=("linux/amd64",))
    project.scons()
    chain_project(project, toolchain="zig", platforms=("linux/amd64",))
    project.scons()
    binaries = [artifact(project, c) for c in ("linux-amd64-musl-musl-gcc", "linux-amd64-musl-zig")]
    assert all(os.path.exists(b) and os.path.exists(b + ".verify.json") for b in binaries)
    assert all(os.path.exists(b + ".deps.o") and os.path.exists(b + ".deps.o.modules.json") for b in binaries)
    members = project.path("build", "linux-amd64-musl-zig", "_objs", "mid")
    assert os.path.exists(os.path.join(members, ".members.json"))
    project.scons("-c", "chain")
    assert not any(os.path.exists(b + suffix) for b in binaries
                   for suffix in ("", ".verify.json", ".deps.o", ".deps.o.modules.json"))
    assert not os.path.exists(members)  # cleaned with libmid.a, which chain's build made
    project.scons("-c")
    assert not os.path.exists(project.path("build"))
    project.scons()  # and the next build is whole again
    assert run_binary(binaries[1], "linux/amd64").stdout == CHAIN_OUT


ARGS_GO = '''package main

// int seven(void) { return 7; }
import "C"

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Println(runtime.GOARCH, C.seven(), os.Args[1:])
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		os.Exit(3)
	}
}
'''


def test_run_builds_then_runs_a_binary_with_arguments_under_qemu(project):
    """--run=NAME builds only what NAME needs, then runs it: the host's platform when built for it, else the one
    --platforms selects, under qemu-user; --run-args is split like a shell; the binary's exit status is the build's."""
    require("zig")
    require("qemu-aarch64-static", "to run arm64 binaries")
    project.write("go.mod", "module example.com/args\n\ngo 1.22\n")
    project.write("main.go", ARGS_GO)
    project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"], '
                                'SCONSRULES_PLATFORMS=["linux/amd64", "linux/arm64"])\n'
                                'env.GoCgoBinary("args", package=".")\nenv.GoCgoBinary("other", package=".")\n')
    host = project.scons("--run=args", "--run-args=x 'y z'")
    assert "sconsrules: run build/linux-amd64-musl-zig/args (linux/amd64, natively)\namd64 7 [x y z]\n" in host.stdout
    assert [s[1] for s in host.steps()] == ["args"]  # only what it needs: not `other`, not arm64
    arm = project.scons("--run=args", "--platforms=linux/arm64", "--run-args=fail", check=False)
    assert "sconsrules: run build/linux-arm64-musl-zig/args (linux/arm64, under qemu-aarch64-static)\narm64 7 [fail]\n" \
        in arm.stdout
    assert arm.returncode == 3 and "GoCgoBinary 'args': [linux-arm64-musl-zig] exited with status 3" in arm.stderr
    assert "Traceback" not in arm.output
    unknown = project.scons("--run=nope", check=False)
    assert unknown.returncode == 2 and "--run=nope: no GoCgoBinary of that name is declared" in unknown.stderr


def test_compile_commands_for_every_compile_of_every_configuration(project, tmp_path):
    """build/compile_commands.json (where clangd looks) holds each StaticCLib compile and each C/C++ file of the
    Go packages as cgo compiles it, per configuration; every entry compiles as written (to a scratch object); a null
    build leaves the file as it was, and a new flag shows up in it."""
    require("zig")
    project.copy_example("cxx")
    project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"], '
                                'SCONSRULES_PLATFORMS=["linux/amd64", "linux/arm64"])\nSConscript("SConscript", exports="env")\n')
    project.scons()
    path = project.path("build", "compile_commands.json")
    with open(path) as fh:
        entries = json.load(fh)
    files = sorted((os.path.relpath(e["file"], project.root), e["arguments"][3]) for e in entries)
    assert files == sorted((f, t) for f in ("c/shapes/area.cc", "c/shapes/names.c", "cmd/shapes/own.cc")
                           for t in ("x86_64-linux-musl", "aarch64-linux-musl"))
    for entry in entries:
        assert entry["arguments"][1] == ("c++" if entry["file"].endswith(".cc") else "cc")
        argv = list(entry["arguments"])
        if "-o" in argv:
            del argv[argv.index("-o"):argv.index("-o") + 2]
        obj = str(tmp_path / "check.o")  # zig cc fails on -fsyntax-only (it renames an output never written)
        proc = subprocess.run(argv + ["-o", obj], cwd=entry["directory"], capture_output=True, text=True)
        assert proc.returncode == 0 and os.path.getsize(obj) > 0, (entry["file"], proc.stderr)
    before = os.stat(path).st_mtime_ns
    assert project.scons().steps() == [] and os.stat(path).st_mtime_ns == before
    project.write("SConscript", project.read("SConscript").replace('cxxopts=["-std=c++17"]',
                                                                   'cxxopts=["-std=c++17", "-DNEW_FLAG"]'))
    project.scons()
    with open(path) as fh:
        assert sum("-DNEW_FLAG" in e["arguments"] for e in json.load(fh)) == 2


SLOW_MAKEFILE = """all:
\tsleep 3
\tcc -c slow.c -o slow.o
\tar rcs libslow.a slow.o
install:
\tmkdir -p $(DESTDIR)$(PREFIX)/lib
\tcp libslow.a $(DESTDIR)$(PREFIX)/lib/
"""


def test_a_terminal_shows_the_steps_running_now(project):
    """On a terminal (a pty here), a status line names the steps running now with their elapsed time, erased
    before every other line; with CI set, or not on a terminal, there is none."""
    import pty
    require("zig")
    project.write("slow/Makefile", SLOW_MAKEFILE)
    project.write("slow/slow.c", "int slow(void) { return 3; }\n")
    project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS=["linux/amd64"])\n'
                                'env.ForeignCLib("slow", source="slow", build="make", outputs=["lib/libslow.a"])\n')
    argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}"]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SCONSRULES_OUTPUT_CACHE"] = project.path("output-cache")  # an empty one: the 3 s of work really run
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(project.root)
        os.execve(argv[0], argv, env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    out = b"".join(chunks).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, out
    assert re.search(r"running: slow: make build \[linux-amd64-musl-zig\] [1-9]s", out), out
    assert "\r\x1b[K" in out  # erased before the next line
    shutil.rmtree(project.path("build"))
    os.remove(project.path(".sconsign.dblite"))
    assert "running:" not in project.scons().output  # not a terminal
