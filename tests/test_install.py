"""The package as users install it: a wheel in a virtual environment, and an SConstruct that names the tool
without importing the package and without a site_scons directory."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import require

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "rules")

SCONSTRUCT = '''env = Environment(tools=["default", "sconsrules"], SCONSRULES_PLATFORMS=["linux/amd64"])
env.StaticCLib("greet", srcs=["greet.c"], hdrs=["greet.h"])
again = Environment(tools=["sconsrules"])  # a second environment finds the tool already loaded
import sys
print("tool from", sys.modules["sconsrules.tool"].__file__)
'''


def test_an_installed_wheel_makes_the_tool_loadable_without_an_import(tmp_path):
    require("zig")
    source = tmp_path / "source"  # a copy: building a wheel writes build/ and *.egg-info next to the sources
    source.mkdir()
    for name in PACKAGE_FILES:
        (shutil.copytree if os.path.isdir(os.path.join(REPO, name)) else shutil.copy)(
            os.path.join(REPO, name), source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                                         if os.path.isdir(os.path.join(REPO, name)) else {}))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    installing = subprocess.run(pip + ["install", "--no-deps", str(source)], capture_output=True, text=True)
    assert installing.returncode == 0, installing.stderr  # as the README says: a wheel built from the checkout
    project = tmp_path / "proj"
    project.mkdir()
    (project / "SConstruct").write_text(SCONSTRUCT)
    (project / "greet.h").write_text("int greet(void);\n")
    (project / "greet.c").write_text('#include "greet.h"\nint greet(void) { return 42; }\n')
    proc = subprocess.run([python, "-m", "SCons", "-Q"], cwd=project, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = subprocess.run([python, "-c", "import sconsrules.tool; print(sconsrules.tool.__file__)"],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert installed.startswith(str(venv)) and f"tool from {installed}" in proc.stdout  # the wheel's, not the checkout's
    assert os.path.isfile(project / "build" / "linux-amd64-musl-zig" / "libgreet.a")
    # uninstalling removes the start-up files with the package
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert {"sconsrules-tool.pth", "_sconsrules_tool_finder.py"} <= set(os.listdir(site))
    subprocess.run(pip + ["uninstall", "-y", "sconsrules"], check=True, capture_output=True)
    assert not any(n.startswith(("sconsrules", "_sconsrules")) for n in os.listdir(site))
