import os
import stat
import subprocess

import attrs
import pytest

import sconsrules.configure.identity as identity
from sconsrules.actions import Caching, Command, Outputs, Step, Verification
from sconsrules.configure.platform import Platform
from sconsrules.verify import Policy


AMD64_POLICY = Policy(Platform.parse("linux/amd64"))


def step(policy=AMD64_POLICY, **changes):
    base = dict(rule="StaticCLib", label="x", config="c", what="compile", outputs=Outputs("/o/x.o"),
                commands=(Command(["cc", "-c", "x.c"], env={"A": "1"}),), verification=Verification(policy),
                identities=("zig 0.17.1",), passenv=(("HOME", "/root"),))
    base.update(changes)
    return Step(**base)


def test_the_signature_is_the_one_steps_had_before_their_fields_were_grouped():
    """Same bytes, same signature: the output cache's keys (and so its entries) outlive the refactor."""
    amd64 = Platform.parse("linux/amd64")
    s = Step(rule="ForeignCLib", label="z", config="linux-amd64-musl-zig", what="configure-make build",
             commands=(Command(["sh", "-c", "make"], env={"CC": "cc"}),),
             outputs=Outputs("/r/build/z", kind="tree", members=("lib/libz.a",)),
             verification=Verification(Policy(amd64, relax=(("stripped", "why"),)), glob="lib/*.a",
                                       prechecks=(("/r/a.a", Policy(amd64)),)),
             identities=("zig 0.14",), passenv=(("MAKEFLAGS", "-j8"),), quiet=True,
             caching=Caching(shared=True, digest_env="CGO_CFLAGS"))
    assert s.signature() == "a4bd5e69331f7a3528ca8079c4d8d52fa7987ed179ba12d5a87906ce66460fd8"
    assert s.signature(root="/r") == "dafc105977c6bd0d5cae307b383838d499f62a6d2072189160d9c16d1b114b25"
    # A policy field added later enters the signature once it is set.
    later = attrs.evolve(s, verification=attrs.evolve(s.verification, prechecks=(("/r/a.a", Policy(amd64, cxx_runtime="libc++")),)))
    assert later.signature() != s.signature()


def test_signature_covers_what_decides_the_bytes():
    sig = step().signature()
    assert step(passenv=(("HOME", "/elsewhere"),)).signature() == sig  # caches and HOME do not
    assert step(identities=("zig 0.18.0",)).signature() != sig
    assert step(commands=(Command(["cc", "-c", "x.c", "-O3"], env={"A": "1"}),)).signature() != sig
    assert step(commands=(Command(["cc", "-c", "x.c"], env={"A": "2"}),)).signature() != sig
    assert step(policy=Policy(Platform.parse("linux/amd64"), stripped=True)).signature() != sig
    assert step(outputs=Outputs("/o/y.o")).signature() != sig


def test_shared_keys_hold_nothing_of_this_machine(monkeypatch):
    """With root and installs, the checkout, HOME and the tools' install directories are names: the same work in
    another directory, under another HOME, with zig and Go installed elsewhere has the same key; a different tool
    version (identity) or flag still changes it."""
    def on_machine(root, home, zig, goroot, version="zig 0.14", flag="-O2"):
        monkeypatch.setenv("HOME", home)
        s = step(commands=(Command([f"{zig}/zig", "cc", "-c", f"{root}/x.c", flag, f"-ffile-prefix-map={root}=."],
                                   env={"GOROOT": goroot, "LEAK": f"{home}/.cache"}),),
                 outputs=Outputs(f"{root}/build/x.o"), identities=(version,))
        return s.signature(root, [(zig, "<zig>"), (goroot, "<goroot>")])

    here = on_machine("/home/a/src/proj", "/home/a", "/usr/lib/python3/site-packages/ziglang", "/usr/local/go")
    assert on_machine("/ci/w/1/proj", "/root", "/opt/venv/lib/python3.12/site-packages/ziglang", "/opt/go") == here
    assert on_machine("/home/a/src/proj", "/home/a", "/home/a/.local/ziglang", "/usr/local/go") == here  # under HOME
    assert on_machine("/ci/w/1/proj", "/root", "/opt/z", "/opt/go", version="zig 0.15") != here
    assert on_machine("/ci/w/1/proj", "/root", "/opt/z", "/opt/go", flag="-O3") != here


def test_render_quotes():
    assert Command(["go", "build", "a b"], env={"CC": "zig cc"}, cwd="/m").render() == "(cd /m && CC='zig cc' go build 'a b')"


def test_tool_identity_runs_once_per_tool_state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ids = identity.ToolIdentities()
    tool = tmp_path / "mytool"
    tool.write_text("#!/bin/sh\necho mytool 1.0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(identity.subprocess, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    assert ids.of([str(tool)], [str(tool)]) == "mytool 1.0"
    ids = identity.ToolIdentities()  # a new scons run: only the disk cache remains
    assert ids.of([str(tool)], [str(tool)]) == "mytool 1.0"
    assert len(calls) == 1
    tool.write_text("#!/bin/sh\necho mytool 2.0 upgraded\n")
    os.utime(tool, ns=(1, 1))
    assert ids.of([str(tool)], [str(tool)]) == "mytool 2.0 upgraded"
    assert len(calls) == 2


def test_response_files_expand_at_run_time_in_the_named_variables_only(tmp_path):
    rsp = tmp_path / "libs.rsp"
    rsp.write_text("/b/lib x.a\n-lm\n\n")
    command = Command(["go", "build"], env={"CGO_LDFLAGS": f"/a/liba.a @{rsp} -static", "OTHER": f"@{rsp}"},
                      expand_env=("CGO_LDFLAGS",))
    ran = command.at_run_time([("CGO_CFLAGS", ["-DSCONSRULES_CINPUTS=abc"])])
    env = dict(ran.env)
    assert env["CGO_LDFLAGS"] == "/a/liba.a '/b/lib x.a' -lm -static"  # order kept, one argument per line
    assert env["OTHER"] == f"@{rsp}"
    assert env["CGO_CFLAGS"] == "-DSCONSRULES_CINPUTS=abc"
    assert ran.expand_env == () and command.env != ran.env  # the declared command (its signature) is unchanged


def test_foreign_cc_wrappers_add_the_libc_variant_flags_to_link_only_calls(tmp_path):
    """configure's probe links ask zig for the final link's libc variant; compiles and -shared links are left
    as they are (a compile's flags are the build's own)."""
    from sconsrules.actions import commands
    wrapper = tmp_path / "cc"
    subprocess.run(["sh", "-c", commands._wrapper(str(wrapper), ["echo", "-target", "x y"], ["-s", "-fno-PIC"])],
                   check=True)

    def called(*args):
        return subprocess.run([str(wrapper), *args], capture_output=True, text=True, check=True).stdout.split()

    assert called("-o", "conftest", "conftest.c") == ["-target", "x", "y", "-o", "conftest", "conftest.c", "-s", "-fno-PIC"]
    assert called("-O2", "-c", "a.c") == ["-target", "x", "y", "-O2", "-c", "a.c"]
    assert called("-E", "a.c") == ["-target", "x", "y", "-E", "a.c"]
    assert called("-shared", "-o", "x.so", "a.o") == ["-target", "x", "y", "-shared", "-o", "x.so", "a.o"]


def test_a_commands_signed_tuple_is_what_attrs_astuple_gave():
    """Signatures (and so every cache key) stay the same with the faster walk."""
    for command in (Command(["cc", "-c", "x.c"]), Command(["go", "build"], env={"B": "2", "A": "1"}, cwd="/w",
                                                          network=True, expand_env=["CGO_LDFLAGS"])):
        assert command.signed() == attrs.astuple(command)


def test_a_listing_answered_at_read_time_runs_no_go_list(tmp_path, monkeypatch, capsys):
    """Listed (declare/gosrc.py:LinkFacts.closed): the link runs alone, the manifest records no module C (and
    is made again, not taken from a kept listing), and unused cdeps are still named (the real path:
    tests/test_build.py, cdeps of a build without cgo)."""
    from sconsrules.actions.commands import Listed
    from sconsrules.execute import golinks

    made = []
    monkeypatch.setattr(golinks, "compile_object", lambda *args, modules, **kwargs: made.append(modules))
    build, ran = Command(["go", "build"]), []
    manifest = ((), (), str(tmp_path), ("cc",), str(tmp_path / "app.deps.o"))
    (tmp_path / "app.deps.o.modules.json").write_text('[["m/c", "m/c@v1", "/d", ["c.c"]]]')

    def run(command):
        ran.append(command.argv[1])
        return 0, ""

    for cgo in (True, False):
        assert golinks.link(Listed(cgo), None, "cfg", ("k",), manifest, build, run=run,
                            who=("GoCgoBinary", "app")) == (0, "")
    assert ran == ["build", "build"] and made == [[], []]
    assert (tmp_path / "app.deps.o.modules.json").read_text() == "[]"
    out = capsys.readouterr().out
    assert out.count("cdeps k are unused") == 1, out


def test_a_relinks_failed_listing_is_the_steps_error_though_the_link_beside_it_failed_too(tmp_path, monkeypatch):
    """execute/golinks.py:link with a kept listing runs go list beside go build; when both fail, the listing's
    cause is raised (the real path: tests/test_cgo_modules.py, a glibc archive named on a relink). With no
    well-formed kept listing, the listing runs first and the link does not start."""
    from sconsrules.errors import RuleError
    from sconsrules.execute import golinks

    monkeypatch.setattr(golinks, "compile_object", lambda *args, **kwargs: None)
    listing, build = Command(["go", "list"]), Command(["go", "build"])
    manifest = ((), (), str(tmp_path), ("cc",), str(tmp_path / "app.deps.o"))
    ran = []

    def run(command):
        ran.append(command.argv[1])
        return (1, "no Go files in /x") if command is listing else (2, "link failed")

    def link():
        return golinks.link(listing, None, "cfg", (), manifest, build, run=run, who=("GoCgoBinary", "app"))

    (tmp_path / "app.deps.o.modules.json").write_text("{not json")
    with pytest.raises(RuleError, match=r"\[cfg\] go list failed \(exit 1\): no Go files"):
        link()
    assert ran == ["list"]
    (tmp_path / "app.deps.o.modules.json").write_text("[]")
    ran.clear()
    with pytest.raises(RuleError, match=r"\[cfg\] go list failed \(exit 1\): no Go files"):
        link()
    assert sorted(ran) == ["build", "list"]
