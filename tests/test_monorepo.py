"""A Go workspace (go.work) monorepo: inputs and builds follow the workspace, and per-platform build constraints
decide which edits rebuild which platform's binary."""
import pytest

from conftest import require, run_binary

pytestmark = pytest.mark.integration

SCONSTRUCT = ('env = Environment(tools=["default", "sconsrules"])\n'
              'env.GoCgoBinary("app", module="app", platforms=["linux/amd64", "linux/arm64"], toolchain="zig")\n')
MAIN = '''package main

// static int one(void) { return 1; }
import "C"

import (
\t"fmt"

\t"example.com/lib/greet"
)

func main() { fmt.Println(greet.Hello(), int(C.one()), arch) }
'''


def rebuilt(result):
    return sorted((s[0], s[1], s[3]) for s in result.steps())


def test_a_workspace_module_edit_rebuilds_exactly_its_dependents(project):
    require("zig")
    project.write("SConstruct", SCONSTRUCT)
    project.write("go.work", "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n")
    project.write("app/go.mod", "module example.com/app\n\ngo 1.22\n")
    project.write("app/main.go", MAIN)
    project.write("app/arch_amd64.go", 'package main\n\nconst arch = "amd64"\n')
    project.write("app/arch_arm64.go", 'package main\n\nconst arch = "arm64"\n')
    project.write("lib/go.mod", "module example.com/lib\n\ngo 1.22\n")
    project.write("lib/greet/greet.go", 'package greet\n\nfunc Hello() string { return "hello" }\n')
    project.write("lib/other/other.go", "package other\n")
    project.scons()
    out = {"linux/amd64": "linux-amd64-musl-zig", "linux/arm64": "linux-arm64-musl-zig"}
    for platform, config in out.items():
        assert run_binary(project.path("build", config, "app"), platform).stdout == f"hello 1 {platform[6:]}\n"
    project.write("lib/greet/greet.go", 'package greet\n\nfunc Hello() string { return "hi" }\n')
    assert rebuilt(project.scons()) == [("GoCgoBinary", "app", config) for config in sorted(out.values())]
    assert run_binary(project.path("build", out["linux/arm64"], "app"), "linux/arm64").stdout == "hi 1 arm64\n"
    project.write("lib/other/other.go", "package other\n\nvar X = 1\n")  # in the workspace, imported by nothing
    assert project.scons().steps() == []
    project.write("app/arch_arm64.go", 'package main\n\nconst arch = "aarch64"\n')  # only the arm64 build reads it
    assert rebuilt(project.scons()) == [("GoCgoBinary", "app", out["linux/arm64"])]
    assert run_binary(project.path("build", out["linux/arm64"], "app"), "linux/arm64").stdout == "hi 1 aarch64\n"
    assert project.scons().steps() == []
