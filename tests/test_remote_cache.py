"""The REAPI remote cache against a real BuildGrid server: a second checkout on another HOME builds nothing, what
comes back is verified like a fresh build (a tampered blob or result is rebuilt), a server that is down, slow or
refusing costs one warning, a read-only client uploads nothing, and an unverified output is never uploaded."""
import os
import re
import socket
import threading
import time

import pytest

from conftest import Project, require

pytestmark = pytest.mark.integration

CONFIGS = ("linux-amd64-musl-zig", "linux-arm64-musl-zig")
SCONSTRUCT = ('env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS=["linux/amd64", "linux/arm64"])\n'
              'env.ForeignCLib("q", source="q", build="make", outputs=["lib/libq.a"])\n')
MAKEFILE = """all:
\t{cc} -c q.c -o q.o
\tar rcs libq.a q.o
\techo built >> {marker}
install:
\tmkdir -p $(DESTDIR)$(PREFIX)/lib
\tcp libq.a $(DESTDIR)$(PREFIX)/lib/
"""


class Checkouts:
    """Checkouts of one project in different directories, each with its own HOME and output cache."""

    def __init__(self, tmp_path, cc="cc", sconstruct=SCONSTRUCT):
        self.tmp = tmp_path
        self.marker = str(tmp_path / "builds")
        self.cc, self.sconstruct = cc, sconstruct

    def builds(self):
        """How many times make really compiled, across every checkout."""
        return open(self.marker).read().count("built") if os.path.exists(self.marker) else 0

    def make(self, name):
        project = Project(self.tmp / name / "src")
        project.write("SConstruct", self.sconstruct)
        project.write("q/Makefile", MAKEFILE.format(cc=self.cc, marker=self.marker))
        project.write("q/q.c", "int q(void) { return 7; }\n")
        home = str(self.tmp / name / "home")
        os.makedirs(home, exist_ok=True)
        project.env = {"HOME": home, "SCONSRULES_OUTPUT_CACHE": str(self.tmp / name / "output-cache")}
        return project


def build(project, *args, check=True):
    return project.scons(*args, check=check, env=project.env)


def lib(project, config):
    with open(project.path("build", config, "_foreign", "q", "usr", "local", "lib", "libq.a"), "rb") as fh:
        return fh.read()


def test_a_fresh_checkout_on_another_home_builds_nothing(tmp_path, reapi_server):
    require("zig")
    require("make")
    c = Checkouts(tmp_path)
    first = c.make("a")
    out = build(first, f"--remote-cache={reapi_server.url}").stdout
    assert "shared outputs: 0 from remote cache, 0 from local cache, 2 built" in out and c.builds() == 2
    assert " up" in out and " 0.0 kB up" not in out
    second = c.make("b")
    out = build(second, f"--remote-cache={reapi_server.url}").stdout
    assert "shared outputs: 2 from remote cache, 0 from local cache, 0 built" in out, out
    assert c.builds() == 2 and "warning" not in out
    for config in CONFIGS:
        assert lib(first, config) == lib(second, config)
    # a null build with the remote configured asks it nothing and says nothing about it
    again = build(second, f"--remote-cache={reapi_server.url}")
    assert again.steps() == [] and "shared outputs" not in again.stdout
    # the restored outputs were kept locally: without the build tree, the local cache serves them
    import shutil
    shutil.rmtree(second.path("build"))
    out = build(second, f"--remote-cache={reapi_server.url}").stdout
    assert "shared outputs: 0 from remote cache, 2 from local cache, 0 built" in out and c.builds() == 2


def test_a_tampered_blob_is_rebuilt_and_replaced(tmp_path, reapi_server):
    require("zig")
    require("make")
    c = Checkouts(tmp_path)
    first = c.make("a")
    build(first, f"--remote-cache={reapi_server.url}")
    wanted = lib(first, CONFIGS[0])
    blob, = [p for p in reapi_server.blobs() if open(p, "rb").read() == wanted]
    data = bytearray(wanted)
    data[-3] ^= 0xFF
    with open(blob, "wb") as fh:
        fh.write(bytes(data))
    second = c.make("b")
    out = build(second, f"--remote-cache={reapi_server.url}").stdout
    assert out.count("warning") == 1 and "remote cache entry rejected" in out and "is not its digest" in out, out
    assert "shared outputs: 1 from remote cache, 0 from local cache, 1 built" in out and c.builds() == 3
    assert lib(second, CONFIGS[0]) == wanted
    # BuildGrid keeps a blob it already holds (the rebuild's upload does not repair it): every client rejects it
    out = build(c.make("c"), f"--remote-cache={reapi_server.url}").stdout
    assert "remote cache entry rejected" in out and "1 from remote cache" in out and c.builds() == 4


def _parsed(blobs, message):
    """(bytes, message) for each blob that parses as `message` (most blobs are not protos at all)."""
    for data in blobs:
        try:
            yield data, message.FromString(data)
        except Exception:
            continue


def _actions(server):
    """The Action digests the server holds, by configuration (read from the Command messages uploaded)."""
    from sconsrules.execute import reapi
    pb = reapi.protos()
    blobs = [open(p, "rb").read() for p in server.blobs()]
    commands = {}
    for data, command in _parsed(blobs, pb.Command):
        props = {p.name: p.value for p in command.platform.properties}
        if "sconsrules.config" in props:
            commands[reapi.digest_of(data).hash] = props["sconsrules.config"]
    return {commands[action.command_digest.hash]: reapi.digest_of(data)
            for data, action in _parsed(blobs, pb.Action) if action.command_digest.hash in commands}


def test_a_result_pointing_at_another_output_fails_verification_and_is_rebuilt(tmp_path, reapi_server):
    require("zig")
    require("make")
    from sconsrules.execute.remote import RemoteCache, Settings
    c = Checkouts(tmp_path)
    build(c.make("a"), f"--remote-cache={reapi_server.url}")
    actions = _actions(reapi_server)
    assert sorted(actions) == sorted(CONFIGS)
    client = RemoteCache(Settings(reapi_server.url))
    arm64 = client.get_result(actions[CONFIGS[1]])
    client.put_result(actions[CONFIGS[0]], arm64)  # amd64's action now answers with arm64's result
    out = build(c.make("b"), f"--remote-cache={reapi_server.url}").stdout
    assert "remote cache entry rejected: the result has no output directory build/linux-amd64" in out, out
    assert "shared outputs: 1 from remote cache, 0 from local cache, 1 built" in out and c.builds() == 3
    # ... and with the path rewritten to amd64's, the arm64 archive reaches the verifier, which refuses it
    arm64.output_directories[0].path = f"build/{CONFIGS[0]}/_foreign/q"
    client.put_result(actions[CONFIGS[0]], arm64)
    client.close()
    out = build(c.make("c"), f"--remote-cache={reapi_server.url}").stdout
    assert "output from the remote cache failed verification" in out and "aarch64" in out.lower(), out
    assert "shared outputs: 1 from remote cache, 0 from local cache, 1 built" in out and c.builds() == 4


def test_read_only_clients_upload_nothing(tmp_path, reapi_server):
    require("zig")
    require("make")
    c = Checkouts(tmp_path)
    out = build(c.make("a"), f"--remote-cache={reapi_server.url}", "--remote-upload=false").stdout
    assert "2 built" in out and reapi_server.blobs() == []


def test_an_output_that_fails_verification_is_never_uploaded(tmp_path, reapi_server):
    require("make")
    require("gcc")
    c = Checkouts(tmp_path, cc="gcc", sconstruct=SCONSTRUCT.replace('"linux/amd64", "linux/arm64"', '"linux/arm64"'))
    result = build(c.make("a"), f"--remote-cache={reapi_server.url}", check=False)
    assert result.returncode != 0 and "verify failed" in result.output and "Traceback" not in result.output
    assert reapi_server.blobs() == []


def _silent_server():
    """A TCP server that accepts and never answers (a hung cache)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener


@pytest.mark.parametrize("server", ["down", "silent"])
def test_a_server_down_or_hung_costs_one_warning(tmp_path, server):
    require("zig")
    require("make")
    if server == "down":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        listener = None
    else:
        listener = _silent_server()
        port = listener.getsockname()[1]
    c = Checkouts(tmp_path)
    started = time.monotonic()
    out = build(c.make("a"), f"--remote-cache=grpc://127.0.0.1:{port}", "--remote-timeout=2").stdout
    took = time.monotonic() - started
    if listener is not None:
        listener.close()
    assert out.count("warning: remote cache") == 1 and "building locally for the rest of this run" in out, out
    assert "shared outputs: 0 from remote cache, 0 from local cache, 2 built" in out and c.builds() == 2
    assert took < 120


def _server(tmp_path, config):
    import conftest
    return conftest.ReapiServer(conftest.bgd(), str(tmp_path / "bgd"), config)


def test_a_server_refusing_uploads_costs_one_warning(tmp_path):
    require("zig")
    require("make")
    import conftest
    server = _server(tmp_path, conftest.BUILDGRID_CONFIG.replace("allow-updates: true", "allow-updates: false"))
    try:
        c = Checkouts(tmp_path)
        out = build(c.make("a"), f"--remote-cache={server.url}").stdout
    finally:
        server.stop()
    assert out.count("warning: remote cache") == 1 and "UpdateActionResult" in out, out
    assert "2 built" in out


def test_a_bearer_token_from_a_file_or_the_environment(tmp_path):
    """BuildGrid with JWT authorization: without the header the cache is refused (one warning, a local build);
    with `authorization=@file` it is used, and SCONSRULES_REMOTE_HEADER with `$VAR` serves a CI job the same."""
    require("zig")
    require("make")
    import jwt

    import conftest
    secret = tmp_path / "secret"
    secret.write_text("sconsrules-test-secret-of-32-bytes!")
    config = conftest.BUILDGRID_CONFIG + (f"authorization:\n  method: jwt\n  secret: {secret}\n  algorithm: hs256\n")
    token = jwt.encode({"sub": "ci", "exp": 4_102_444_800}, secret.read_text(), algorithm="HS256")
    (tmp_path / "token").write_text(f"Bearer {token}\n")
    server = _server(tmp_path, config)
    try:
        c = Checkouts(tmp_path)
        refused = build(c.make("a"), f"--remote-cache={server.url}").stdout
        first = build(c.make("b"), f"--remote-cache={server.url}", f"--remote-header=authorization=@{tmp_path}/token")
        ci = c.make("c")
        ci.env.update(SCONSRULES_REMOTE_CACHE=server.url, SCONSRULES_REMOTE_HEADER="authorization=$CACHE_TOKEN",
                      CACHE_TOKEN=f"Bearer {token}")
        second = build(ci)
    finally:
        server.stop()
    assert refused.count("warning: remote cache") == 1 and "UNAUTHENTICATED" in refused, refused
    assert "0 from remote cache, 0 from local cache, 2 built" in first.stdout and "warning" not in first.stdout
    assert "2 from remote cache, 0 from local cache, 0 built" in second.stdout, second.stdout


def test_remote_options_are_checked_before_any_rule(tmp_path):
    c = Checkouts(tmp_path)
    project = c.make("a")
    bad = build(project, "--remote-cache=http://cache:80", check=False)
    assert bad.returncode == 2 and "--remote-cache: 'http://cache:80' is not grpc://HOST:PORT" in bad.stderr
    header = build(project, "--remote-cache=grpc://127.0.0.1:1", "--remote-header=authorization=@/nonexistent",
                   check=False)
    assert header.returncode == 2 and "cannot read the header file /nonexistent" in header.stderr
    assert "Traceback" not in bad.output + header.output


def test_every_step_of_an_example_comes_from_the_remote_cache(tmp_path, reapi_server):
    """Libraries (their compiles and archive) and go builds too: a second checkout in another directory, with another HOME and an
    empty local cache, runs no command at all, and its binaries are byte-identical and run."""
    require("zig")
    from conftest import run_binary
    projects = []
    for name in ("a", "b"):
        project = Project(tmp_path / name / "src")
        project.copy_example("clib-chain")
        project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"])\n'
                                    'SConscript("SConscript", exports="env")\n')
        home = tmp_path / name / "home"
        home.mkdir()
        project.env = {"HOME": str(home), "SCONSRULES_OUTPUT_CACHE": str(tmp_path / name / "output-cache")}
        projects.append(project)
    first = build(projects[0], f"--remote-cache={reapi_server.url}", "--subcommands").stdout
    assert "shared outputs: 0 from remote cache, 0 from local cache, 6 built" in first, first
    second = build(projects[1], f"--remote-cache={reapi_server.url}", "--subcommands").stdout
    assert "shared outputs: 6 from remote cache, 0 from local cache, 0 built" in second, second
    assert "command:" in first and "command:" not in second and "in-process" not in second  # no command ran
    for config, platform in zip(CONFIGS, ("linux/amd64", "linux/arm64")):
        binaries = [open(p.path("build", config, "chain"), "rb").read() for p in projects]
        assert binaries[0] == binaries[1]
        assert run_binary(projects[1].path("build", config, "chain"), platform).returncode == 0


@pytest.mark.slow
def test_the_examples_in_a_fresh_checkout_compile_nothing(tmp_path, reapi_server):
    """Every example (OpenSSL and zlib from source, sqlite's amalgamation, C++), amd64: the second checkout, in
    another directory with another HOME and empty local caches, compiles nothing and gets byte-identical binaries
    and split debug files (each pair checked together when restored)."""
    require("zig")
    require("make")
    import shutil
    from conftest import REPO
    projects = []
    for name in ("a", "b"):
        project = Project(tmp_path / name / "src")
        shutil.copytree(os.path.join(REPO, "examples"), project.path("examples"))
        shutil.copy(os.path.join(REPO, "README.md"), project.root)  # the SConstruct's release packs it
        project.write("SConstruct", open(os.path.join(REPO, "SConstruct")).read().replace(
            '["linux/amd64", "linux/arm64"]', '["linux/amd64"]'))
        (tmp_path / name / "home").mkdir()
        project.env = {"HOME": str(tmp_path / name / "home"),
                       "SCONSRULES_OUTPUT_CACHE": str(tmp_path / name / "output-cache")}
        projects.append(project)
    first = build(projects[0], f"--remote-cache={reapi_server.url}").stdout
    built = int(re.search(r"shared outputs: 0 from remote cache, 0 from local cache, (\d+) built", first).group(1))
    second = build(projects[1], f"--remote-cache={reapi_server.url}", "--subcommands").stdout
    assert f"shared outputs: {built} from remote cache, 0 from local cache, 0 built" in second, second
    ran = [line for line in second.splitlines() if line.startswith("  ")]  # --subcommands: the commands that ran
    assert not [line for line in ran if " cc " in line or " c++ " in line or "go build" in line or "make" in line], ran
    top = projects[0].path("build", CONFIGS[0])
    binaries = [os.path.relpath(os.path.join(d, f[:-len(".verify.json")]), top)
                for d, _, files in os.walk(top) for f in files if f.endswith(".verify.json")]
    assert len(binaries) >= 5, binaries
    debug = [name + ".debug" for name in binaries if os.path.exists(os.path.join(top, name + ".debug"))]
    assert len(debug) == 4, debug  # the main SConstruct splits all but the C++ example's binary
    for name in binaries + debug:
        a, b = (open(os.path.join(p.path("build", CONFIGS[0]), name), "rb").read() for p in projects)
        assert a == b, name
