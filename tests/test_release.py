"""Release: deterministic per-platform archives of verified binaries, and SHA256SUMS over them."""
import hashlib
import os
import subprocess
import tarfile

import pytest

from conftest import Project, require, run_binary

RELEASE = ('env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS=["linux/amd64", "linux/arm64"])\n'
           'SConscript("SConscript", exports="env")\n'
           'env.Release("hello-release", binaries=hello, version="1.2.0", files=["README.md"])\n')


def checkout(path):
    project = Project(path)
    project.copy_example("hello-cgo")
    project.write("SConscript", project.read("SConscript").replace("env.GoCgoBinary(", "hello = env.GoCgoBinary(")
                  + 'Return("hello")\n')
    project.write("SConstruct", RELEASE.replace('SConscript("SConscript", exports="env")',
                                                'hello = SConscript("SConscript", exports="env")'))
    return project


@pytest.mark.integration
def test_release_archives_are_the_same_bytes_from_any_checkout(tmp_path):
    """Two checkouts at paths of different lengths, another umask: byte-identical archives and SHA256SUMS; the
    entries sorted under one top directory, with the epoch as mtime, uid/gid 0, normalized modes; sha256sum -c
    accepts the sums; the packed arm64 binary runs."""
    require("zig")
    epoch = "1700000000"
    a = checkout(tmp_path / "a")
    b = checkout(tmp_path / "a-much-longer-directory-name" / "b")
    a.scons("hello-release", env={"SOURCE_DATE_EPOCH": epoch})
    old = os.umask(0o077)
    try:
        b.scons("hello-release", env={"SOURCE_DATE_EPOCH": epoch})
    finally:
        os.umask(old)
    names = ["hello-release_1.2.0_linux_amd64.tar.gz", "hello-release_1.2.0_linux_arm64.tar.gz", "SHA256SUMS",
             "hello-release_1.2.0_linux_amd64.hello-cgo.cdx.json", "hello-release_1.2.0_linux_arm64.hello-cgo.cdx.json",
             "hello-release_1.2.0_linux_arm64.hello-cgo.spdx.json", "hello-release_1.2.0.provenance.json"]
    for name in names:
        assert open(a.path("build", "release", "hello-release", name), "rb").read() == \
            open(b.path("build", "release", "hello-release", name), "rb").read(), name
    out = a.path("build", "release", "hello-release")
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 7  # archives, SBOMs, provenance
    from sbom_check import valid_cyclonedx
    with open(os.path.join(out, names[4])) as fh:
        bom = valid_cyclonedx(fh.read())
    assert bom["metadata"]["component"]["name"] == "hello-cgo"
    assert {p["value"] for p in bom["metadata"]["properties"]} >= {"linux/arm64"}
    from sbom_check import valid_spdx
    with open(os.path.join(out, names[5])) as fh:
        document = valid_spdx(fh.read())
    assert document["creationInfo"]["created"] == "2023-11-14T22:13:20Z"
    with tarfile.open(os.path.join(out, names[1])) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["hello-release_1.2.0_linux_arm64", "hello-release_1.2.0_linux_arm64/README.md",
                                             "hello-release_1.2.0_linux_arm64/hello-cgo"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(int(epoch), 0, 0, "", "")}
        assert [oct(m.mode) for m in members] == ["0o755", "0o644", "0o755"]
        tar.extractall(tmp_path / "x", filter="data")
    binary = tmp_path / "x" / "hello-release_1.2.0_linux_arm64" / "hello-cgo"
    assert binary.read_bytes() == open(a.path("build", "linux-arm64-musl-zig", "hello-cgo"), "rb").read()
    assert run_binary(str(binary), "linux/arm64").returncode == 0
    # a new epoch (a new commit) rebuilds the archives; the same one rebuilds nothing
    assert a.scons("hello-release", env={"SOURCE_DATE_EPOCH": epoch}).steps() == []
    a.scons("hello-release", env={"SOURCE_DATE_EPOCH": "1700000001"})
    assert hashlib.sha256(open(os.path.join(out, names[0]), "rb").read()).hexdigest() not in \
        open(b.path("build", "release", "hello-release", "SHA256SUMS")).read()


@pytest.mark.integration
def test_the_epoch_is_the_last_commit_without_source_date_epoch(tmp_path):
    require("zig")
    require("git")
    a = checkout(tmp_path / "a")
    env = {"SOURCE_DATE_EPOCH": None, "GIT_AUTHOR_DATE": "1600000000 +0000", "GIT_COMMITTER_DATE": "1600000000 +0000",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    assert a.scons(env=env).returncode == 0  # a plain scons builds the binaries, not the release
    assert not os.path.exists(a.path("build", "release"))
    none = a.scons("hello-release", env=env, check=False)
    assert none.returncode == 2 and "Release 'hello-release': the release needs a fixed time" in none.stderr
    assert "Traceback" not in none.output
    git_env = {**os.environ, **{k: v for k, v in env.items() if v}}
    subprocess.run(["git", "init", "-q"], cwd=a.root, check=True, env=git_env)
    subprocess.run(["git", "add", "-A"], cwd=a.root, check=True, env=git_env)
    subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=a.root, check=True, env=git_env)
    a.scons("hello-release", env=env)
    with tarfile.open(a.path("build", "release", "hello-release", "hello-release_1.2.0_linux_amd64.tar.gz")) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1600000000}
    subprocess.run(["git", "gc", "-q"], cwd=a.root, check=True, env=git_env)  # packed: read through git itself
    from sconsrules.declare.release import last_commit_time
    assert last_commit_time(a.root) == 1600000000


@pytest.mark.unit
def test_release_attributes_are_checked(analysis):
    a = analysis
    a.write("main.go", "package main\n\nfunc main() {}\n")
    a.write("go.mod", "module example.com/x\n\ngo 1.22\n")
    for call, message in (
            ("env.Release('r1', binaries=[], version='1.0')", "Release 'r1': binaries must name at least one GoCgoBinary"),
            ("env.Release('r2', binaries=[File('main.go')], version='1.0')", "is not a node returned by GoCgoBinary"),
            ("env.Release('r3', binaries=env.GoCgoBinary('app', package='.'), version='1 0')",
             "Release 'r3': version must be a string like '1.4.0'"),
    ):
        assert message in a.error(call)


@pytest.mark.unit
def test_stamp_keys_fill_x_defs_only_when_stamping():
    from sconsrules.configure.stamp import apply
    x_defs = (("main.commit", "{GIT_COMMIT}"), ("main.name", "app"), ("main.version", "v-{GIT_DESCRIBE}"))
    assert apply(x_defs, None) == (("main.name", "app"),)  # unstamped: the Go defaults stay, nothing varies
    assert apply(x_defs, {"GIT_COMMIT": "abc", "GIT_DESCRIBE": "v1.2.0-dirty", "GIT_COMMIT_TIME": "1"}) == (
        ("main.commit", "abc"), ("main.name", "app"), ("main.version", "v-v1.2.0-dirty"))
    assert apply((("main.x", "{NOT_A_KEY}"),), None) == (("main.x", "{NOT_A_KEY}"),)


@pytest.mark.integration
def test_stamp_puts_the_revision_in_the_binary_deterministically(tmp_path):
    """--stamp fills {GIT_DESCRIBE} from the checkout: the binary prints it, and two checkouts of the same commit
    give the same bytes; without --stamp the x_def is left out and the Go default is printed."""
    require("zig")
    require("git")
    env = {"GIT_AUTHOR_DATE": "1600000000 +0000", "GIT_COMMITTER_DATE": "1600000000 +0000", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    git_env = {**os.environ, **env}
    binaries = []
    for where in ("a", "much-longer-name/b"):
        project = Project(tmp_path / where)
        project.copy_example("hello-cgo")
        project.write("SConscript", project.read("SConscript").replace(
            'x_defs={"main.greeting": "hello"}', 'x_defs={"main.greeting": "{GIT_DESCRIBE}"}'))
        project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"], '
                                    'SCONSRULES_PLATFORMS=["linux/amd64"])\nSConscript("SConscript", exports="env")\n')
        project.write(".gitignore", "build/\n.sconsign*\n")
        for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"], ["tag", "v1.2.0"]):
            subprocess.run(["git", *argv], cwd=project.root, check=True, env=git_env)
        binary = project.path("build", "linux-amd64-musl-zig", "hello-cgo")
        project.scons()
        assert run_binary(binary, "linux/amd64").stdout == "hello from cgo: 42\n"
        project.scons("--stamp")
        assert run_binary(binary, "linux/amd64").stdout == "v1.2.0 from cgo: 42\n"
        binaries.append(open(binary, "rb").read())
    assert binaries[0] == binaries[1]
