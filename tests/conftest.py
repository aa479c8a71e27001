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
# The tests' own cache root (zig's libc builds, Go's build cache, sconsrules's stores): never the developer's
# caches, yet kept between runs (a cold zig compiles musl once per architecture, ~35 s each).
CACHE_ROOT = os.environ.get("SCONSRULES_TEST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                       "sconsrules-tests")
os.environ["XDG_CACHE_HOME"] = CACHE_ROOT
for _name in ("ZIG_GLOBAL_CACHE_DIR", "GOCACHE", "SCONSRULES_OUTPUT_CACHE"):
    os.environ.pop(_name, None)
# Every run its own builder container, removed at its end (what most container tests assert); the tests of
# builders kept between runs set their own idle time.
os.environ["SCONSRULES_BUILDER_IDLE"] = "0"
BUILDER = "sconsrules-builder:bookworm"  # made by tests/containers/make_images.sh


def require(tool, why=""):
    """Return the tool's path; in CI a missing tool FAILS the test, elsewhere it skips."""
    if tool == "zig":
        try:
            from sconsrules.configure.toolchains.zig import ZigToolchain
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

    def scons(self, *args, check=True, strace=None, env=None):
        """Run scons here; `env` adds to (or, with None values, removes from) this process's environment."""
        argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}", *args]
        if strace:
            argv = ["strace", "-f", "-qq", "-e", "trace=execve", "-o", strace] + argv
        environ = None
        if env:
            environ = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        proc = subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=1800, env=environ)
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
        return re.findall(r"^(?:\[\d+/\d+\] )?(StaticCLib|ForeignCLib|PkgConfigCLib|GoCgoBinary) (\S+): (.+) \[(\S+)\]$",
                          self.stdout, re.M)

    def ran(self, rule, target=None, what=None):
        return [s for s in self.steps() if s[0] == rule and (target is None or s[1] == target)
                and (what is None or what in s[2])]


TOOL_FIXTURES = {"project", "corpus", "built", "glibc_stripped"}


def pytest_collection_modifyitems(items):
    """Tiers by what a test uses: the Docker engine (container), compilers or scons builds (integration);
    everything else is a unit test, which needs none of them."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "docker_client" in fixtures:
            item.add_marker(pytest.mark.container)
        if fixtures & TOOL_FIXTURES or item.get_closest_marker("container"):
            item.add_marker(pytest.mark.integration)
        if not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path / "proj")


@pytest.fixture
def analysis(tmp_path, monkeypatch):
    """A read phase in this process (tests/analysis.py): declare rules, inspect the Steps; nothing runs."""
    import SCons.Node.FS
    from analysis import Analysis

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SCons.Node.FS, "default_fs", SCons.Node.FS.default_fs)
    return Analysis(tmp_path / "proj")


def run_binary(path, platform):
    """Run a built artifact natively (amd64 host) or under qemu-user."""
    return run_binary_args(path, platform, [])


def run_binary_args(path, platform, args):
    from sconsrules.configure.platform import Platform
    plat = Platform.parse(platform)
    native = plat.runs_natively_on(Platform.host())
    argv = [path] if native else [require(plat.info.qemu, "to run foreign binaries"), path]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The verifier corpus (tests/corpus.py): each file built on first use, needing only its own compilers."""
    from corpus import Corpus
    return Corpus(str(tmp_path_factory.mktemp("corpus")), require)


@pytest.fixture(scope="module")
def docker_client():
    """A Docker engine that has the builder image, made here (tests/containers/make_images.sh) when the engine
    answers and the image is missing; in CI the absence of either fails the test."""
    try:
        import docker
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"a Docker engine is required: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    problem = _made_images(client)
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    return client


_IMAGES = {}


def _made_images(client):
    """None once the builder image exists (made at most once per session), else why it does not."""
    import docker
    try:
        client.images.get(BUILDER)
        return None
    except docker.errors.ImageNotFound:
        pass
    if "result" not in _IMAGES:
        script = os.path.join(REPO, "tests", "containers", "make_images.sh")
        proc = subprocess.run(["bash", script], capture_output=True, text=True)
        _IMAGES["result"] = None if proc.returncode == 0 else (
            f"{BUILDER} is missing and {script} failed (it needs root for debootstrap): {proc.stderr.strip()[-300:]}")
    return _IMAGES["result"]


BUILDGRID_CONFIG = """server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
storages:
  - !disk-storage &cas
    path: {storage}
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 100000
    allow-updates: true
    cache-failed-actions: false
instances:
  - name: ""
    services:
      - !action-cache
        cache: *ac
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""


class ReapiServer:
    """A BuildGrid server on loopback (disk CAS, in-memory LRU action cache): a real REAPI endpoint."""

    def __init__(self, bgd, root, config=None):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"grpc://127.0.0.1:{self.port}"
        self.storage = os.path.join(root, "cas")
        os.makedirs(root, exist_ok=True)
        config_file = os.path.join(root, "buildgrid.yml")
        with open(config_file, "w") as fh:
            fh.write((config or BUILDGRID_CONFIG).format(port=self.port, storage=self.storage))
        self.log = open(os.path.join(root, "buildgrid.log"), "w")
        self.proc = subprocess.Popen([bgd, "server", "start", config_file], stdout=self.log, stderr=subprocess.STDOUT)
        import time
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc.poll() is None, open(self.log.name).read()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("BuildGrid did not start:\n" + open(self.log.name).read())

    def blobs(self):
        """The paths of the blobs on the server's disk."""
        return [os.path.join(d, f) for d, _, files in os.walk(self.storage) for f in files
                if "tmp" not in os.path.relpath(d, self.storage).split(os.sep)]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def bgd():
    """BuildGrid's command, installed with the `remote` extra next to this Python (a fresh pyenv has no shim)."""
    beside = shutil.which("bgd", path=os.path.dirname(sys.executable))
    return beside or require("bgd", "the REAPI cache tests run a real BuildGrid server (pip install '.[remote]')")


@pytest.fixture
def reapi_server(tmp_path):
    """BuildGrid's `bgd server start`, fresh for each test (its action cache lives in memory), stopped after."""
    server = ReapiServer(bgd(), str(tmp_path / "bgd"))
    yield server
    server.stop()
