import os

import pytest

from sconsrules.declare.gosrc import (BuildContext, GoSourceError, GoSourceIndex, LinkFacts, find_module_root,
                                     parse_go_file, read_module)

CGO_FILE = '''// Package p does things.
package p

/*
#include "mid.h"
#cgo CFLAGS: -DX=1
*/
import "C"

import (
	"fmt"
	alias "example.com/m/internal/a" // a comment with import "not/this"
	_ "embed"
	. "example.com/m/dot"
)

import "example.com/m/single"

//go:embed static/*.txt "quoted name.txt"
var files string

func f() { _ = "import \\"example.com/m/notanimport\\"" }
'''


def test_parse_imports_and_embeds():
    imports, embeds = parse_go_file(CGO_FILE)
    assert sorted(imports) == sorted(["C", "fmt", "example.com/m/internal/a", "embed", "example.com/m/dot",
                                      "example.com/m/single"])
    assert embeds == ["static/*.txt", "quoted name.txt"]


def write(root, rel, text=""):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    return path


@pytest.fixture
def module(tmp_path):
    root = str(tmp_path)
    write(root, "go.mod", "module example.com/m // the module\n\ngo 1.22\n\nreplace example.com/lib => ./third/lib\n")
    write(root, "go.sum", "")
    write(root, "cmd/app/main.go", 'package main\nimport (\n"example.com/m/internal/a"\n"example.com/lib/x"\n)\n'
                                   'func main() {}\n')
    write(root, "cmd/app/main_test.go", "package main\n")
    write(root, "cmd/app/helper.c", "int h;\n")
    write(root, "cmd/app/README.md", "not an input")
    write(root, "internal/a/a.go", 'package a\nimport "embed"\n//go:embed assets\nvar fs embed.FS\n')
    write(root, "internal/a/assets/one.txt", "1")
    write(root, "internal/a/assets/.hidden", "h")
    write(root, "internal/unused/u.go", "package unused\n")
    write(root, "third/lib/go.mod", "module example.com/lib\n")
    write(root, "third/lib/x/x.go", "package x\n")
    return root


def test_follows_module_imports_embeds_and_local_replaces(module):
    mod = read_module(module)
    assert mod.path == "example.com/m"
    inputs = {os.path.relpath(p, module) for p in GoSourceIndex().package_inputs(mod, "./cmd/app")}
    assert inputs == {"go.mod", "go.sum", "cmd/app/main.go", "cmd/app/helper.c", "internal/a/a.go",
                      "internal/a/assets/one.txt", "third/lib/x/x.go", "third/lib/go.mod"}


def test_module_root_is_found_upwards(module):
    assert find_module_root(os.path.join(module, "cmd", "app")) == module


def test_missing_package_is_an_error(module):
    with pytest.raises(GoSourceError, match="does not exist"):
        GoSourceIndex().package_inputs(read_module(module), "./cmd/nope")


def test_build_constraints_select_files_per_platform(tmp_path):
    from sconsrules.declare.gosrc import BuildContext
    root = str(tmp_path)
    write(root, "go.mod", "module example.com/m\n\ngo 1.22\n")
    write(root, "main.go", 'package main\n\nimport "example.com/m/dep"\n\nfunc main() { dep.F() }\n')
    write(root, "dep/dep.go", "package dep\n\nfunc F() {}\n")
    write(root, "dep/dep_arm64.go", 'package dep\n\nimport "example.com/m/armonly"\n\nvar _ = armonly.X\n')
    write(root, "dep/dep_windows.go", "package dep\n")
    write(root, "dep/fast_linux_amd64.s", "")
    write(root, "dep/tagged.go", "//go:build linux && (amd64 || riscv64) && !purego\n\npackage dep\n")
    write(root, "dep/musl.go", "// Copyright\n\n//go:build musl\n\npackage dep\n")
    write(root, "dep/notes.go", "//go:build ignore\n\npackage main\n")
    write(root, "dep/cgo.h", "")
    write(root, "armonly/a.go", "package armonly\n\nvar X = 1\n")
    index, module = GoSourceIndex(), read_module(root)
    rel = lambda files: sorted(os.path.relpath(f, root) for f in files)  # noqa: E731
    amd64 = rel(index.package_inputs(module, ".", BuildContext("linux", "amd64", frozenset({"musl"}))))
    arm64 = rel(index.package_inputs(module, ".", BuildContext("linux", "arm64")))
    assert amd64 == ["dep/cgo.h", "dep/dep.go", "dep/fast_linux_amd64.s", "dep/musl.go", "dep/tagged.go", "go.mod",
                     "main.go"]
    assert arm64 == ["armonly/a.go", "dep/cgo.h", "dep/dep.go", "dep/dep_arm64.go", "go.mod", "main.go"]
    everything = rel(index.package_inputs(module, "."))  # no context: every file (read-time checks)
    assert "dep/dep_windows.go" in everything and "armonly/a.go" in everything


def test_constraint_expressions():
    from sconsrules.declare.gosrc import BuildContext
    ctx = BuildContext("linux", "arm64", frozenset({"netgo", "musl"}))
    for expression, want in [("linux", True), ("!linux", False), ("unix && arm64", True), ("darwin || musl", True),
                             ("!(netgo && cgo)", False), ("go1.21 && !windows", True), ("ignore", False),
                             ("linux &&", True), ("((linux)", True)]:  # unparsable: kept (more inputs, never fewer)
        assert ctx.evaluate(expression) is want, expression


def test_a_go_work_joins_its_modules(tmp_path):
    root = str(tmp_path)
    write(root, "go.work", "go 1.22\n\nuse (\n\t./app\n\t./lib // the library\n)\n")
    write(root, "app/go.mod", "module example.com/app\n\ngo 1.22\n")
    write(root, "app/main.go", 'package main\n\nimport "example.com/lib/greet"\n\nfunc main() { greet.Hi() }\n')
    write(root, "lib/go.mod", "module example.com/lib\n\ngo 1.22\n")
    write(root, "lib/greet/greet.go", "package greet\n\nfunc Hi() {}\n")
    write(root, "lib/other/other.go", "package other\n")
    module = read_module(os.path.join(root, "app"))
    assert module.workspace == os.path.join(root, "go.work")
    inputs = sorted(os.path.relpath(f, root) for f in GoSourceIndex().package_inputs(module, "."))
    assert inputs == ["app/go.mod", "app/main.go", "go.work", "lib/go.mod", "lib/greet/greet.go"]


LINUX = BuildContext("linux", "amd64", frozenset({"netgo", "osusergo", "musl"}))


def closed_module(root):
    write(root, "go.mod", "module example.com/m\n\ngo 1.22\n")
    write(root, "cmd/app/main.go", 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\t"example.com/m/c"\n)\n\n'
                                   'func main() { fmt.Println(c.X, http.MethodGet) }\n')
    write(root, "c/c.go", 'package c\n\n// #include "c.h"\n// #cgo CFLAGS: -DX=1\nimport "C"\n\nvar X = 1\n')
    write(root, "c/other_windows.go", 'package c\n\n// #cgo LDFLAGS: -L${SRCDIR} -lwin\nimport "C"\n')
    return read_module(root)


def test_a_build_of_stdlib_and_its_own_module_needs_no_go_list(tmp_path):
    """LinkFacts.closed: nothing outside the module's tree but the standard library, and no #cgo directive that
    links (one in a file another platform compiles does not count); cgo is seen through the imports."""
    module = closed_module(str(tmp_path))
    assert GoSourceIndex().link_facts(module, "cmd/app", LINUX) == LinkFacts(closed=True, cgo=True)
    write(str(tmp_path), "c/c.go", "package c\n\nvar X = 1\n")
    assert GoSourceIndex().link_facts(module, "cmd/app", LINUX) == LinkFacts(closed=True, cgo=False)


@pytest.mark.parametrize("change", [
    ("c/link.go", 'package c\n\n/*\n#cgo linux LDFLAGS: ${SRCDIR}/libx.a\n*/\nimport "C"\n'),  # in-module archive
    ("c/pc.go", 'package c\n\n// #cgo pkg-config: zlib\nimport "C"\n'),
    ("c/ext.go", 'package c\n\nimport "github.com/klauspost/compress/zstd"\n\nvar _ = zstd.Encoder{}\n'),
    ("c/nested.go", 'package c\n\nimport "example.com/m/sub/x"\n\nvar _ = x.Y\n'),  # another module's path
    ("vendor/modules.txt", "# vendored\n"),
])
def test_anything_go_list_alone_knows_leaves_the_build_open(tmp_path, change):
    root = str(tmp_path)
    module = closed_module(root)
    write(root, "sub/go.mod", "module example.com/m/sub\n")
    write(root, "sub/x/x.go", "package x\n\nvar Y = 1\n")
    write(root, *change)
    assert GoSourceIndex().link_facts(module, "cmd/app", LINUX).closed is False


def test_an_import_of_the_module_path_with_no_directory_here_leaves_the_build_open(tmp_path):
    """A package of a longer module path (example.com/m/tools, required) is found by go, not in this tree."""
    root = str(tmp_path)
    module = closed_module(root)
    write(root, "c/more.go", 'package c\n\nimport "example.com/m/tools/gen"\n\nvar _ = gen.Z\n')
    assert GoSourceIndex().link_facts(module, "cmd/app", LINUX).closed is False


def test_replaced_and_workspace_modules_leave_the_build_open(module, tmp_path):
    """The fixture's app imports example.com/lib, a local replace: another module, whose flags go list reads."""
    assert GoSourceIndex().link_facts(read_module(module), "cmd/app", LINUX).closed is False
