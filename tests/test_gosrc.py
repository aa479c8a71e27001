import os

import pytest

from sconsrules.declare.gosrc import GoSourceError, GoSourceIndex, find_module_root, parse_go_file, read_module

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
