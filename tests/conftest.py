"""Shared fixtures: real tools or a failure in CI, scratch projects, and scons runs we can observe."""
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE_DIR = os.path.join(REPO, "site_scons")
EXAMPLES = os.path.join(REPO, "examples")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(tool, why=""):
    """Return the tool's path; in CI a missing tool FAILS the test, elsewhere it skips."""
    if tool == "zig":
        try:
            from sconsrules.toolchains.zig import ZigToolchain
            path = ZigToolchain().exe
        except ImportError:
            path = None
    else:
        path = shutil.which(tool)
    if not path:
        message = f"{tool} is required{': ' + why if why else ''}"
        if IN_CI:
            pytest.fail(message + " (CI=true: missing tools fail, they never skip)")
        pytest.skip(message)
    return path


class Project:
    """A scratch SCons project in a temp dir, built with the checkout's rules through --site-dir."""

    def __init__(self, root):
        self.root = str(root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, rel, text):
        full = self.path(rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as fh:
            fh.write(text)

    def read(self, rel):
        with open(self.path(rel)) as fh:
            return fh.read()

    def copy_example(self, name, dest=""):
        shutil.copytree(os.path.join(EXAMPLES, name), self.path(dest) if dest else self.root, dirs_exist_ok=True)

    def scons(self, *args, check=True, strace=None):
        argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}", *args]
        if strace:
            argv = ["strace", "-f", "-qq", "-e", "trace=execve", "-o", strace] + argv
        proc = subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=1800)
        result = Result(proc)
        if check and proc.returncode != 0:
            raise AssertionError(f"scons {' '.join(args)} failed ({proc.returncode}):\n{result.output}")
        return result


class Result:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = proc.stdout + proc.stderr

    def steps(self):
        """The build steps that ran, as (rule, target, what, config) from the progress lines."""
        return re.findall(r"^(StaticCLib|GoCgoBinary) (\S+): (.+) \[(\S+)\]$", self.stdout, re.M)

    def ran(self, rule, target=None, what=None):
        return [s for s in self.steps() if s[0] == rule and (target is None or s[1] == target)
                and (what is None or what in s[2])]


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path / "proj")


def run_binary(path, platform):
    """Run a built artifact natively (amd64 host) or under qemu-user."""
    from sconsrules.platform import Platform
    plat = Platform.parse(platform)
    argv = [path] if plat.is_host() else [require(plat.info.qemu, "to run foreign binaries"), path]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


# The verifier corpus, built with the real compilers.
HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'
LOOKUP = '#include <netdb.h>\nint main(void) { struct addrinfo *r; return getaddrinfo("localhost", 0, 0, &r); }\n'
FORTIFIED = '#include <stdio.h>\nvoid f(char *b, int n) { snprintf(b, 8, "%d", n); }\n'


def _sh(*argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("corpus"))
    for name, text in [("hello.c", HELLO), ("lookup.c", LOOKUP), ("fort.c", FORTIFIED)]:
        with open(os.path.join(d, name), "w") as fh:
            fh.write(text)
    gcc, musl = require("gcc"), require("musl-gcc")
    zig = require("zig")
    _sh(gcc, "-O2", "hello.c", "-o", "glibc-dynamic", cwd=d)
    _sh(gcc, "-O2", "-static", "lookup.c", "-o", "glibc-static-nss", cwd=d)
    _sh(musl, "-O2", "-static", "hello.c", "-o", "musl-static", cwd=d)
    _sh(musl, "-O2", "-static", "-s", "hello.c", "-o", "musl-static-stripped", cwd=d)
    _sh(musl, "-O2", "-static-pie", "hello.c", "-o", "musl-gcc-static-pie", cwd=d)
    _sh(zig, "cc", "-target", "x86_64-linux-musl", "-O2", "-static-pie", "-fPIE", "hello.c", "-o", "zig-static-pie", cwd=d)
    _sh(zig, "cc", "-target", "aarch64-linux-musl", "-O2", "-static", "-s", "hello.c", "-o", "zig-arm64", cwd=d)
    _sh(gcc, "-O2", "-D_FORTIFY_SOURCE=2", "-c", "fort.c", "-o", "fort-glibc.o", cwd=d)
    _sh("ar", "rcsD", "libglibc.a", "fort-glibc.o", cwd=d)
    _sh(musl, "-O2", "-c", "fort.c", "-o", "fort-musl.o", cwd=d)
    _sh("ar", "rcsD", "libmusl.a", "fort-musl.o", cwd=d)
    _sh("ar", "rcsU", "libnondet.a", "fort-musl.o", cwd=d)
    with open(os.path.join(d, "musl-static"), "rb") as fh:
        data = fh.read()
    with open(os.path.join(d, "truncated"), "wb") as fh:
        fh.write(data[:100])
    with open(os.path.join(d, "random"), "wb") as fh:
        fh.write(os.urandom(4096))
    return d
