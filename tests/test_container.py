"""Container toolchain: real builds in a real Docker engine, with the images from containers/make_images.sh."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import BUILDER, IN_CI, SITE_DIR, require, run_binary

pytestmark = pytest.mark.integration

CONFIG = "linux-amd64-musl-ctr-sconsrules-builder-bookworm"
SCONSTRUCT = """env = Environment(tools=["default", "sconsrules"], SCONSRULES_TOOLCHAIN=None)
tc = env.ContainerToolchain({how}, cc="musl-gcc", go="go")
env["SCONSRULES_TOOLCHAIN"] = tc
SConscript("SConscript", exports="env")
"""


def builders(client):
    """Builder containers now (sparse: one being removed while we look must not fail the listing)."""
    return client.containers.list(all=True, filters={"label": "sconsrules.builder"}, sparse=True)


def running_commands(client):
    """The command lines running in the builders now. A container that starts or ends while we look answers
    `top` with an error for a moment (its cgroup not yet made, or gone): asked again until it is running and
    answers, or it is gone."""
    import docker
    commands = []
    for container in builders(client):
        for _ in range(40):
            try:
                commands += [p[-1] for p in (container.top().get("Processes") or [])]
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                try:
                    container.reload()
                except docker.errors.NotFound:
                    break
                if container.status not in ("created", "running"):
                    break
                time.sleep(0.25)
        else:
            raise AssertionError(f"builder {container.short_id} is running but `top` keeps failing")
    return commands


def remove_image(client, tag):
    """In a finally: a test that failed before making its image must not fail again here."""
    import docker
    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def container_project(project, how=f"image={BUILDER!r}"):
    project.copy_example("clib-chain")
    project.write("SConstruct", SCONSTRUCT.format(how=how))
    project.write("SConscript", project.read("SConscript").replace(
        'platforms=["linux/amd64", "linux/arm64"], toolchain="zig"', "platforms=['linux/amd64']"))
    return project


@pytest.fixture
def built(project, docker_client):
    container_project(project)
    project.scons()
    assert builders(docker_client) == []
    return project


def test_builds_in_the_container_runs_and_leaves_no_container(built, docker_client):
    path = built.path("build", CONFIG, "chain")
    assert run_binary(path, "linux/amd64").stdout == "chain: mid=77 base=7 k=7\n"
    with open(path + ".verify.json") as fh:
        report = json.load(fh)
    assert report["ok"] and report["config"] == CONFIG and report["summary"]["libc"] == "musl"
    assert report["summary"]["go"]["settings"]["CGO_ENABLED"] == "1"
    assert os.stat(path).st_uid == os.getuid() and os.stat(path).st_gid == os.getgid()
    assert builders(docker_client) == []


def test_incremental_rules_hold_in_the_container(built, docker_client):
    assert built.scons().steps() == []
    assert built.scons("-q").returncode == 0
    os.utime(built.path("c/base/base.c"))
    assert built.scons().steps() == []
    with open(built.path("c/base/base.c"), "a") as fh:
        fh.write("int base_extra(void) { return 1; }\n")
    steps = sorted((s[0], s[1], s[2].split()[0]) for s in built.scons().steps())
    assert steps == [("GoCgoBinary", "chain", "go"), ("StaticCLib", "base", "archive"), ("StaticCLib", "base", "compile")]
    main = built.read("cmd/chain/main.go").replace('"chain: ', '"chain3: ')
    built.write("cmd/chain/main.go", main)
    assert [(s[0], s[2].split()[0]) for s in built.scons().steps()] == [("GoCgoBinary", "go")]
    assert builders(docker_client) == []


def test_image_id_enters_the_signature(project, docker_client):
    tag = f"sconsrules-test-retag:{os.getpid()}"
    docker_client.images.get(BUILDER).tag(tag)
    try:
        container_project(project, how=f"image={tag!r}")
        project.scons()
        assert project.scons().steps() == []
        docker_client.images.build(fileobj=__import__("io").BytesIO(
            f"FROM {BUILDER}\nLABEL sconsrules.test=changed\n".encode()), tag=tag, rm=True)
        steps = project.scons().steps()
        assert {s[0] for s in steps} == {"StaticCLib", "GoCgoBinary"}
        assert len([s for s in steps if s[2].startswith("compile")]) == 2
        assert project.scons().steps() == []
    finally:
        remove_image(docker_client, tag)


def test_dockerfile_image_is_a_tracked_build_step(project, docker_client):
    project.write("tools/builder/Dockerfile", f"FROM {BUILDER}\nCOPY note.txt /etc/note.txt\n")
    project.write("tools/builder/note.txt", "one\n")
    container_project(project, how="dockerfile='tools/builder/Dockerfile', context='tools/builder'")
    try:
        first = project.scons()
        assert "ContainerToolchain tools/builder/Dockerfile: build image" in first.stdout
        again = project.scons()
        assert "build image" not in again.stdout and again.steps() == []
        project.write("tools/builder/note.txt", "two\n")
        changed = project.scons()
        assert "build image" in changed.stdout
        assert {s[0] for s in changed.steps()} == {"StaticCLib", "GoCgoBinary"}
        assert project.scons().steps() == []
    finally:
        remove_image(docker_client, "sconsrules/ctr-tools-builder:latest")


def test_failure_leaves_no_container_and_no_artifact(built, docker_client):
    source = built.read("c/mid/mid.c")
    built.write("c/mid/mid.c", source + "int broken(\n")
    result = built.scons(check=False)
    assert result.returncode == 2 and "StaticCLib 'mid':" in result.stderr
    assert not os.path.exists(built.path("build", CONFIG, "_objs/mid/c/mid/mid.o"))
    assert builders(docker_client) == []
    built.write("c/mid/mid.c", source)
    assert built.scons().returncode == 0


def test_sigint_and_kill_leave_no_container(project, docker_client):
    container_project(project)
    project.write("c/base/slow.c", "int slow(void) { return 1; }\n")
    argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}"]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        import shutil
        shutil.rmtree(project.path("build"), ignore_errors=True)
        proc = subprocess.Popen(argv, cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while not builders(docker_client) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert builders(docker_client), "the build never started its builder container"
        proc.send_signal(sig)
        proc.wait(timeout=120)
        if sig == signal.SIGKILL:
            assert builders(docker_client), "kill -9 cannot clean up: the next run must"
            project.scons()  # the next start removes the stale container, then builds
        assert builders(docker_client) == [], sig


def test_compilation_has_no_network(project, docker_client, tmp_path, monkeypatch):
    """The executor that runs every compile cannot reach the network; only the download command can."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))  # an empty module cache
    from sconsrules.actions import Command
    from sconsrules.execute.container import ContainerExecutor
    from sconsrules.configure.toolchains.container import ContainerToolchain, lookup_image
    image_id, _ = lookup_image(BUILDER, "test", "net")
    tc = ContainerToolchain(name="ctr-nettest", display=BUILDER, cc_command=("gcc",), cxx_command=("g++",),
                            ar_command=("ar",), go_command="go", platforms=(), image=BUILDER, resolved_id=image_id)
    project.write("go.mod", "module example.com/net\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n")
    executor = ContainerExecutor(tc, {(project.root, False), (tc.cache_dir, False)}, "test", "net")
    try:
        proxy = subprocess.run(["go", "env", "GOPROXY"], capture_output=True, text=True).stdout.strip()
        env = {"GOPROXY": proxy, "GOFLAGS": "-modcacherw", "GOSUMDB": "off"}  # this machine's module proxy
        code, output = executor.run(Command(["go", "mod", "download", "-x", "github.com/google/uuid"], env=env,
                                            cwd=project.root), {})
        assert code != 0
        assert "dial tcp" in output or "no such host" in output or "network is unreachable" in output, output
        code, output = executor.run(Command(["go", "mod", "download", "github.com/google/uuid"], env=env,
                                            cwd=project.root, network=True), {})
        assert code == 0, output
    finally:
        executor.close()


def test_scratch_image_runs(built, docker_client):
    text = built.read("SConscript").replace("env.GoCgoBinary(", "app = env.GoCgoBinary(")
    built.write("SConscript", text + "\nenv.ScratchImage('sconsrules-test-app:latest', app[0], ca_certs=True)\n")
    result = built.scons()
    assert "ScratchImage sconsrules-test-app:latest: build image" in result.stdout
    try:
        out = docker_client.containers.run("sconsrules-test-app:latest", remove=True, network_mode="none")
        assert out.decode() == "chain: mid=77 base=7 k=7\n"
        image = docker_client.images.get("sconsrules-test-app:latest")
        assert image.attrs["Config"]["Entrypoint"] == ["/app"]
        assert len(image.history()) <= 5
        assert "build image" not in built.scons().stdout
    finally:
        remove_image(docker_client, "sconsrules-test-app:latest")


@pytest.mark.parametrize("how, extra_env, message", [
    (f"image={BUILDER!r}", {"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
     "cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
    ("image='sconsrules-no-such-image:1'", {}, "image 'sconsrules-no-such-image:1' is not on this Docker engine"),
    (f"image={BUILDER!r}, platforms=['linux/arm64']", {}, None),
])
def test_read_time_errors(project, docker_client, how, extra_env, message):
    container_project(project, how=how)
    env = dict(os.environ, **extra_env)
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}"], cwd=project.root,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    expected = message or f"container toolchain {BUILDER} builds for linux/arm64, not linux/amd64"
    assert expected in proc.stderr


def test_missing_compiler_in_the_image(project, docker_client):
    container_project(project)
    project.write("SConstruct", project.read("SConstruct").replace('cc="musl-gcc"', 'cc="clang-99"'))
    result = project.scons(check=False)
    assert result.returncode == 2
    assert f"`clang-99` is not in image {BUILDER}" in result.stderr
    assert builders(docker_client) == []


def test_a_failure_names_the_target_that_ran_not_the_one_that_started_the_builder(project, docker_client):
    """The libraries are declared (and start the builder) first; the missing `go` is the binary's error."""
    container_project(project)
    project.write("SConstruct", project.read("SConstruct").replace('go="go"', 'go="go-99"'))
    result = project.scons(check=False)
    assert result.returncode == 2
    assert "sconsrules: GoCgoBinary '" in result.stderr, result.stderr
    assert f"[{BUILDER}] `go-99` is not in image {BUILDER}" in result.stderr, result.stderr
    assert "StaticCLib" not in result.stderr


def test_sqlite_example_downloads_modules_then_builds_offline(project, docker_client):
    """A third-party module: fetched by the download step (network), compiled with GOPROXY=off (no network)."""
    project.copy_example("sqlite")
    project.write("SConstruct", SCONSTRUCT.format(how=f"image={BUILDER!r}"))
    result = project.scons("--platforms=linux/amd64")
    assert [s[2] for s in result.steps()] == ["go mod download", "go build ./cmd/query"]
    out = run_binary(project.path("build", CONFIG, "sqlite-query"), "linux/amd64")
    assert out.stdout == "sqlite 3.50.4: sum=42\n"
    assert builders(docker_client) == []


NONROOT_LIBS = "/opt/sconsrules-test-nonroot-libs"


def test_outputs_belong_to_a_non_root_invoker(docker_client, tmp_path):
    """scons run as an unprivileged user (in the docker group): every output is that user's, not root's."""
    if os.getuid() != 0:
        (pytest.fail if IN_CI else pytest.skip)("needs root to switch to another user (CI runs as root)")
    require("setpriv")
    python = require("python3.11", "a Python that an unprivileged user can run")
    import grp
    import shutil
    import tempfile
    if not os.path.isdir(NONROOT_LIBS):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", NONROOT_LIBS, "scons", "pyelftools",
                        "attrs", "docker"], check=True)
    root = tempfile.mkdtemp(prefix="sconsrules-nonroot-")
    try:
        from conftest import Project
        project = Project(os.path.join(root, "proj"))
        container_project(project)
        uid = gid = 65534
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                os.chown(name, uid, gid)
        os.chmod(root, 0o755)
        env = {"PATH": os.environ["PATH"], "HOME": os.path.join(root, "home"), "PYTHONPATH": NONROOT_LIBS,
               "SCONSRULES_BUILDER_IDLE": os.environ["SCONSRULES_BUILDER_IDLE"]}
        docker_gid = grp.getgrnam("docker").gr_gid
        proc = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={docker_gid}", python, "-m",
                               "SCons", "-Q", f"--site-dir={SITE_DIR}"], cwd=project.root, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs = [os.path.join(d, f) for d, _, fs in os.walk(project.path("build")) for f in fs]
        assert any(p.endswith("/chain") for p in outputs)
        assert {(os.stat(p).st_uid, os.stat(p).st_gid) for p in outputs} == {(uid, gid)}
        assert builders(docker_client) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


HOSTILE_CC = """#!/bin/sh
# A compiler that tries to reach beyond its step, then compiles.
try() {{ if sh -c "$2" >/dev/null 2>&1; then echo "HOSTILE $1: allowed"; else echo "HOSTILE $1: denied"; fi; }}
try chown-output "chown 4242:4242 {out}"
try other-configuration "mkdir -p {build}/linux-arm64-musl-zig && touch {build}/linux-arm64-musl-zig/x"
try build-directory "touch {build}/evil"
try sources "touch {root}/evil"
try root-filesystem "touch /etc/evil"
try device "mknod /tmp/null c 1 3"
try own-output "touch {out}/written-by-step && rm {out}/written-by-step"
try cache "touch $HOME/written-by-step && rm $HOME/written-by-step"
echo "HOSTILE $(grep CapEff /proc/self/status | tr -s '\\t' ' ')"
echo "HOSTILE $(grep NoNewPrivs /proc/self/status | tr -s '\\t' ' ')"
echo "HOSTILE pids.max $(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"
exec musl-gcc "$@"
"""


def test_a_hostile_compile_is_confined(project, docker_client):
    """From inside a compile (as the invoking user, root in CI): no capability, nothing writable but the step's
    own configuration directory and the toolchain's caches."""
    container_project(project)
    build = project.path("build")
    project.write("evil-cc.sh", HOSTILE_CC.format(out=os.path.join(build, CONFIG), build=build, root=project.root))
    project.write("SConstruct", project.read("SConstruct").replace(
        'cc="musl-gcc"', f'cc="sh {project.path("evil-cc.sh")}"'))
    result = project.scons()
    said = dict(line.split(": ", 1) for line in result.stdout.splitlines()
                if line.startswith("HOSTILE ") and ": " in line)
    for attempt in ("chown-output", "other-configuration", "build-directory", "sources", "root-filesystem",
                    "device"):
        assert said[f"HOSTILE {attempt}"] == "denied", (attempt, result.stdout)
    assert said["HOSTILE own-output"] == "allowed" and said["HOSTILE cache"] == "allowed"
    assert "HOSTILE CapEff: 0000000000000000" in result.stdout
    assert "HOSTILE NoNewPrivs: 1" in result.stdout
    assert "HOSTILE pids.max 4096" in result.stdout
    assert not os.path.exists(os.path.join(build, "evil")) and not os.path.exists(project.path("evil"))
    assert not os.path.exists(os.path.join(build, "linux-arm64-musl-zig"))
    assert run_binary(project.path("build", CONFIG, "chain"), "linux/amd64").stdout == "chain: mid=77 base=7 k=7\n"


CXX_SCONSTRUCT = """env = Environment(tools=["default", "sconsrules"], SCONSRULES_TOOLCHAIN=None)
env["SCONSRULES_TOOLCHAIN"] = env.ContainerToolchain(image={image!r}, {compilers})
SConscript("SConscript", exports="env")
"""
CXX_OUT = "circle area=15 caught=-1 own=hello from c++2017\n"


@pytest.fixture
def zig_image(docker_client, tmp_path):
    """The builder image plus this machine's zig (the ziglang package copied in): an image whose C and C++
    compilers target musl. Made once per zig version; the engine keeps it between runs."""
    import shutil
    import ziglang
    tag = "sconsrules-zig-test:latest"
    version = subprocess.run([os.path.join(os.path.dirname(ziglang.__file__), "zig"), "version"],
                             capture_output=True, text=True, check=True).stdout.strip()
    want = f"{version} {docker_client.images.get(BUILDER).id}"
    try:
        if docker_client.images.get(tag).labels.get("sconsrules.made-from") == want:
            return tag
    except Exception:
        pass
    ctx = tmp_path / "zigimage"
    shutil.copytree(os.path.dirname(ziglang.__file__), ctx / "zig", ignore=shutil.ignore_patterns("__pycache__"))
    (ctx / "Dockerfile").write_text(f"FROM {BUILDER}\nCOPY zig /opt/zig\nLABEL sconsrules.made-from=\"{want}\"\n")
    docker_client.images.build(path=str(ctx), tag=tag, rm=True)
    return tag


def test_cxx_in_a_container_with_zig_runs_static_musl(project, docker_client, zig_image):
    """C++ in a container toolchain whose cxx is zig's: the StaticCLib's C++ and the Go package's own .cc
    compiled in the container, libc++ linked statically (cxx_runtime='libc++'), verified, run."""
    zig, target = "/opt/zig/zig", "-target x86_64-linux-musl"
    project.copy_example("cxx")
    project.write("SConstruct", CXX_SCONSTRUCT.format(image=zig_image, compilers=(
        f"cc='{zig} cc {target}', cxx='{zig} c++ {target}', ar='{zig} ar', cxx_runtime='libc++', "
        "platforms=['linux/amd64']")))
    result = project.scons()
    assert result.ran("GoCgoBinary", "shapes-app", "go build")
    path = project.path("build", "linux-amd64-musl-ctr-sconsrules-zig-test-latest", "shapes-app")
    assert run_binary(path, "linux/amd64").stdout == CXX_OUT
    with open(path + ".verify.json") as fh:
        report = json.load(fh)
    assert report["ok"] and report["summary"]["libc"] == "musl" and report["summary"]["link_type"] == "static"
    assert project.scons().steps() == []


def test_cxx_in_a_container_with_glibc_gpp_is_refused_with_the_cause(project, docker_client):
    """The Debian builder's g++ targets glibc. Its objects here use nothing glibc-only (they would link with a musl
    libstdc++), but Go links a package with .cc files through CXX: the binary comes out glibc. It is refused,
    nothing is left at its path, and the message names the C++ compiler as the cause."""
    project.copy_example("cxx")
    project.write("SConstruct", CXX_SCONSTRUCT.format(image=BUILDER, compilers="cc='musl-gcc', cxx='g++'"))
    result = project.scons(check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    line = result.stderr.strip().splitlines()[-1]
    assert "GoCgoBinary 'shapes-app'" in line and "libc: must be linked against musl" in line and "glibc" in line
    assert "hint: this link used the C++ compiler `g++` and its libstdc++: both must target musl" in line
    assert not os.path.exists(project.path("build", "linux-amd64-musl-ctr-sconsrules-builder-bookworm", "shapes-app"))


def test_a_kept_builder_serves_the_next_run_and_ends_when_idle(project, docker_client, tmp_path):
    """With an idle time the builder outlives its run: labelled with its key (no pid), auto-removed; the next
    run adopts it; `scons -c` removes it (not another project's); left alone it ends by itself once the idle
    time passes untouched."""
    container_project(project)
    env = {"SCONSRULES_BUILDER_IDLE": "8"}
    project.scons(env=env)
    kept = builders(docker_client)
    assert len(kept) == 1, kept
    kept[0].reload()
    labels = kept[0].labels
    assert "sconsrules.reuse" in labels and "sconsrules.pid" not in labels
    assert kept[0].attrs["HostConfig"]["AutoRemove"] is True
    with open(project.path("c/base/base.c"), "a") as fh:
        fh.write("int base_more(void) { return 2; }\n")
    assert project.scons(env=env).steps()  # rebuilt ...
    assert [c.id for c in builders(docker_client)] == [kept[0].id]  # ... in the same container
    from conftest import Project
    other = container_project(Project(tmp_path / "other"))
    other.scons(env=env)
    assert len(builders(docker_client)) == 2  # its mounts differ: a builder of its own
    project.scons("-c", env=env)
    assert [c.id for c in builders(docker_client)] != [kept[0].id] and len(builders(docker_client)) == 1
    other.scons("-c", env=env)
    assert builders(docker_client) == []
    project.scons(env=env)
    assert len(builders(docker_client)) == 1
    deadline = time.time() + 60
    while builders(docker_client) and time.time() < deadline:
        time.sleep(1)
    assert builders(docker_client) == [], "an idle builder must end by itself"
    with open(project.path("c/base/base.c"), "a") as fh:
        fh.write("int base_last(void) { return 3; }\n")
    assert "must be 0 or a number of seconds" in project.scons(env={"SCONSRULES_BUILDER_IDLE": "2"},
                                                               check=False).stderr


def test_a_killed_runs_commands_in_a_kept_builder_are_stopped_by_the_next_run(project, docker_client):
    """kill -9 leaves the kept builder and the compile it was running; the next run stops that compile (by the
    run mark in its environment) before it builds, in the same builder."""
    container_project(project)
    project.write("c/base/slow.c", "int slow(void) { return 1; }\n")
    project.write("slow-cc.sh", 'case "$*" in *slow.c*) [ -e "$SLOW_DONE" ] || sleep 300;; esac\nexec musl-gcc "$@"\n')
    project.write("SConstruct", project.read("SConstruct").replace('cc="musl-gcc"', f'cc="sh {project.path("slow-cc.sh")}"'))
    project.write("SConscript", project.read("SConscript").replace('srcs=["c/base/base.c"]',
                                                                   'srcs=["c/base/base.c", "c/base/slow.c"]'))
    env = dict(os.environ, SCONSRULES_BUILDER_IDLE="60")
    argv = [sys.executable, "-m", "SCons", "-Q", f"--site-dir={SITE_DIR}"]
    proc = subprocess.Popen(argv, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def sleeping():
        return [c for c in running_commands(docker_client) if "sleep 300" in c]

    try:
        deadline = time.time() + 120
        while not sleeping() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert sleeping(), "the slow compile never started"
        proc.kill()
        proc.wait(timeout=60)
        kept = builders(docker_client)
        assert len(kept) == 1 and sleeping(), "the kept builder and its compile outlive the killed run"
        project.write("slow-cc.sh", project.read("slow-cc.sh").replace('[ -e "$SLOW_DONE" ] || sleep 300', "true"))
        result = project.scons(env={"SCONSRULES_BUILDER_IDLE": "60"})
        assert "did not finish: stopped" in result.output and not sleeping()
        assert [c.id for c in builders(docker_client)] == [kept[0].id]
    finally:
        if proc.poll() is None:
            proc.kill()
        project.scons("-c", env={"SCONSRULES_BUILDER_IDLE": "60"}, check=False)
    assert builders(docker_client) == []
