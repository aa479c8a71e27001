"""Analysis in-process: declare rules against a fresh SCons file-system tree and a fresh Context, then assert the
exact Steps (argv, env, inputs, outputs). Nothing runs: the toolchains are the real classes, pointed at stand-in
executables that only answer the version questions a declaration asks (`zig version`, `go version`)."""
import contextlib
import io
import os
import stat

import SCons.Environment
import SCons.Node.FS

from sconsrules import tool
from sconsrules.configure.toolchains.muslgcc import MuslGccToolchain
from sconsrules.configure.toolchains.zig import ZigToolchain
from sconsrules.context import Context


def _script(path, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\n" + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


class Analysis:
    """One SCons run's read phase, in this process."""

    def __init__(self, root, options=None):
        self.root = str(root)
        os.makedirs(self.root, exist_ok=True)
        os.chdir(self.root)
        SCons.Node.FS.default_fs = SCons.Node.FS.FS(self.root)
        bindir = os.path.join(self.root, ".bin")
        self.zig_exe = _script(os.path.join(bindir, "zig"), 'echo "0.14.0"\n')
        self.go_exe = _script(os.path.join(bindir, "go"),
                              'case "$1" in version) echo "go version go1.24.0 linux/amd64";; env) echo "{}";; esac\n')
        self.musl_gcc_exe = _script(os.path.join(bindir, "musl-gcc"), 'echo "musl-gcc (stand-in) 12.2.0"\n')
        self.ctx = Context(options=dict(options or {}))
        self.zig = ZigToolchain(self.zig_exe, ids=self.ctx.identities)
        self.musl_gcc = MuslGccToolchain(self.musl_gcc_exe, ids=self.ctx.identities)
        self.env = SCons.Environment.Environment(tools=[], GO=self.go_exe, SCONSRULES_TOOLCHAIN=self.zig)
        tool.generate(self.env, context=self.ctx)

    def write(self, rel, text=""):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
        return path

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def steps(self, rule=None, what=None):
        return [s for s in self.ctx.steps if (rule is None or s.rule == rule) and (what is None or what in s.what)]

    def step(self, rule=None, what=None):
        found = self.steps(rule, what)
        assert len(found) == 1, [(s.rule, s.what) for s in found]
        return found[0]

    def read(self, text, name="SConstruct"):
        """Run an SConscript's text as SCons would (the rule methods on env, File and Dir); return (what a failed
        read printed on stderr, its exit status), or ("", 0)."""
        path = self.write(name, text)
        scope = {"env": self.env, "File": self.env.File, "Dir": self.env.Dir}
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                exec(compile(text, path, "exec"), scope)
        except SystemExit as exc:
            return err.getvalue(), exc.code
        return err.getvalue(), 0

    def error(self, call):
        """The one line a failing rule call prints (without SCons's `scons: *** ` prefix)."""
        printed, status = self.read(call + "\n", name="SConscript.error")
        assert status == 2, printed
        return printed.strip().splitlines()[0].replace("scons: *** ", "", 1)
