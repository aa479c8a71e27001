"""The main job: the top-level SConstruct builds every example for amd64 and arm64, and they run."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, Project, require, run_binary

pytestmark = pytest.mark.integration

EXPECTED = {
    "hello-cgo/hello-cgo": "hello from cgo: 42\n",
    "clib-chain/chain": "chain: mid=77 base=7 k=7\n",
    "sqlite/sqlite-query": "sqlite 3.50.4: sum=42\n",
}


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    require("zig")
    root = tmp_path_factory.mktemp("main")
    shutil.copy(os.path.join(REPO, "SConstruct"), root)
    shutil.copytree(os.path.join(REPO, "examples"), root / "examples")
    project = Project(root)
    return project, project.scons()


@pytest.mark.parametrize("platform", ["linux/amd64", "linux/arm64"])
@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_examples_run(main_job, example, platform):
    project, _ = main_job
    config = f"linux-{platform.split('/')[1]}-musl-zig"
    result = run_binary(project.path("build", config, "examples", example), platform)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED[example]


def test_summary_table_lists_every_artifact(main_job):
    _, result = main_job
    table = result.stdout.split("sconsrules: artifacts (verified)")[1].splitlines()
    assert table[1].split() == ["artifact", "platform", "toolchain", "size", "link", "libc", "sha256"]
    rows = [line.split() for line in table[2:] if line.strip()]
    assert len(rows) == 6
    for row in rows:
        assert row[2] == "zig" and row[5] == "static" and row[6] == "musl" and len(row[7]) == 12


def test_null_build_of_the_examples(main_job):
    project, _ = main_job
    assert project.scons().steps() == []
    assert project.scons("-q").returncode == 0


def test_tool_loads_from_an_installed_package(tmp_path):
    """Outside a checkout (no site_scons): `import sconsrules` is the one line a project adds."""
    require("zig")
    project = Project(tmp_path)
    project.copy_example("hello-cgo")
    project.write("SConstruct", "import sconsrules\n\nenv = Environment(tools=['default', 'sconsrules'])\n"
                                "SConscript('SConscript', exports='env')\n")
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q", "--platforms=linux/amd64"], cwd=project.root,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_binary(project.path("build", "linux-amd64-musl-zig", "hello-cgo"), "linux/amd64").stdout == \
        "hello from cgo: 42\n"
