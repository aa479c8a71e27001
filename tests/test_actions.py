import os
import stat
import subprocess

import sconsrules.identity as identity
from sconsrules.actions import Command, Step
from sconsrules.platform import Platform
from sconsrules.verify import Policy


def step(**changes):
    base = dict(rule="StaticCLib", label="x", config="c", what="compile", out="/o/x.o",
                commands=(Command(["cc", "-c", "x.c"], env={"A": "1"}),), policy=Policy(Platform.parse("linux/amd64")),
                identities=("zig 0.17.1",), passenv=(("HOME", "/root"),))
    base.update(changes)
    return Step(**base)


def test_signature_covers_what_decides_the_bytes():
    sig = step().signature()
    assert step(passenv=(("HOME", "/elsewhere"),)).signature() == sig  # caches and HOME do not
    assert step(identities=("zig 0.18.0",)).signature() != sig
    assert step(commands=(Command(["cc", "-c", "x.c", "-O3"], env={"A": "1"}),)).signature() != sig
    assert step(commands=(Command(["cc", "-c", "x.c"], env={"A": "2"}),)).signature() != sig
    assert step(policy=Policy(Platform.parse("linux/amd64"), stripped=True)).signature() != sig


def test_render_quotes():
    assert Command(["go", "build", "a b"], env={"CC": "zig cc"}, cwd="/m").render() == "(cd /m && CC='zig cc' go build 'a b')"


def test_tool_identity_runs_once_per_tool_state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(identity, "_memory", {})
    tool = tmp_path / "mytool"
    tool.write_text("#!/bin/sh\necho mytool 1.0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(identity.subprocess, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    assert identity.tool_identity([str(tool)], [str(tool)]) == "mytool 1.0"
    monkeypatch.setattr(identity, "_memory", {})  # a new scons process: only the disk cache remains
    assert identity.tool_identity([str(tool)], [str(tool)]) == "mytool 1.0"
    assert len(calls) == 1
    tool.write_text("#!/bin/sh\necho mytool 2.0 upgraded\n")
    os.utime(tool, ns=(1, 1))
    assert identity.tool_identity([str(tool)], [str(tool)]) == "mytool 2.0 upgraded"
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
