"""Proof of reproducibility: the whole release of the examples (archives, SBOMs, provenance, the image layout,
SHA256SUMS) is bit-for-bit the same when cut twice, as differently as this machine allows:

  first   this user, the tests' (warm) caches, a short checkout path, umask 022, TZ=UTC, LC_ALL=C, -j1
  second  another non-root user with a fresh HOME (cold zig, Go, module and sconsrules caches), a much longer
          checkout path, umask 077, another time zone and locale, a clock faked years ahead (libfaketime), -j2

On a difference the message is diffoscope's account of it. Needs root (to act as the other user).
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import IN_CI, REPO, Project, require

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER = "sconsrules-repro"
EPOCH = "1700000000"
RELEASE = os.path.join("build", "release", "examples-release")


def _checkout(root):
    os.makedirs(root, exist_ok=True)
    for name in ("SConstruct", "README.md"):
        shutil.copy(os.path.join(REPO, name), root)
    shutil.copytree(os.path.join(REPO, "examples"), os.path.join(root, "examples"))


def _other_user():
    if os.geteuid() != 0:
        message = "acting as another user needs root"
        if IN_CI:
            pytest.fail(message + " (CI=true)")
        pytest.skip(message)
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run([require("useradd"), "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(USER)


def _closed_dirs(paths):
    """Directories above `paths` that others may not traverse (root's HOME, where Python may be installed)."""
    found = set()
    for path in paths:
        path = os.path.dirname(os.path.realpath(path))
        while path != "/":
            if not os.stat(path).st_mode & 0o001:
                found.add(path)
            path = os.path.dirname(path)
    return sorted(found)


def _differences(a, b):
    names = sorted(set(os.listdir(a)) | set(os.listdir(b)))
    differ = []
    for name in names:
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        if not (os.path.isfile(pa) and os.path.isfile(pb)):
            differ.append((name, "only in one release"))
            continue
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            if fa.read() != fb.read():
                differ.append((name, _diffoscope(pa, pb)))
    return names, differ


def _diffoscope(a, b):
    tool = shutil.which("diffoscope")
    if not tool:
        return "differ (diffoscope is not installed to say how)"
    proc = subprocess.run([tool, "--text", "-", "--max-text-report-size", "20000", a, b], capture_output=True,
                          text=True, timeout=900)
    return proc.stdout[-6000:] or proc.stderr[-2000:]


def test_the_examples_release_is_the_same_bytes_for_another_user_cold_path_umask_tz_locale_clock_and_jobs(tmp_path):
    require("zig")
    faketime = require("faketime", "the second build runs with a faked clock")
    setfacl = require("setfacl", "the other user must reach this Python")
    require("diffoscope", "a difference is explained with diffoscope")
    user = _other_user()
    go = shutil.which("go")
    goproxy = subprocess.run([go, "env", "GOPROXY"], capture_output=True, text=True, check=True).stdout.strip()

    first = Project(tmp_path / "a")
    _checkout(first.root)
    old = os.umask(0o022)
    try:
        first.scons("-j1", "examples-release", env={"SOURCE_DATE_EPOCH": EPOCH, "TZ": "UTC", "LC_ALL": "C"})
    finally:
        os.umask(old)

    base = tempfile.mkdtemp(prefix="sconsrules-repro-")  # not under root's private temp dirs
    opened = _closed_dirs([sys.executable, os.path.realpath(sys.executable), go, os.path.realpath(go)])
    try:
        root = os.path.join(base, "a-much-longer-directory-name-for-the-second-checkout", "project")
        _checkout(root)
        tool = os.path.join(base, "sconsrules")  # this checkout's rules/ and site_scons/, readable by the user
        for name in ("rules", "site_scons"):
            shutil.copytree(os.path.join(REPO, name), os.path.join(tool, name),
                            ignore=shutil.ignore_patterns("__pycache__"))
        home = os.path.join(base, "home")
        os.makedirs(home)
        for directory, dirs, files in os.walk(base):
            for name in [directory] + [os.path.join(directory, f) for f in dirs + files]:
                os.lchown(name, user.pw_uid, user.pw_gid)
        for directory in opened:
            subprocess.run([setfacl, "-m", f"u:{USER}:x", directory], check=True)
        env = {"PATH": os.pathsep.join([os.path.dirname(go), os.path.dirname(sys.executable), "/usr/bin", "/bin"]),
               "HOME": home, "USER": USER, "LOGNAME": USER, "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8",
               "LANG": "C.UTF-8", "SOURCE_DATE_EPOCH": EPOCH, "GOPROXY": goproxy,
               "GOTOOLCHAIN": "local", "GOFLAGS": os.environ.get("GOFLAGS", "")}

        def become():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.umask(0o077)

        argv = [faketime, "2031-02-03 04:05:06", sys.executable, "-m", "SCons", "-Q",
                f"--site-dir={os.path.join(tool, 'site_scons')}", "-j2", "examples-release"]
        proc = subprocess.run(argv, cwd=root, env=env, preexec_fn=become, capture_output=True, text=True,
                              timeout=3000)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
        assert os.listdir(os.path.join(home, ".cache"))  # its own caches, cold at the start, were used
        names, differ = _differences(first.path(RELEASE), os.path.join(root, RELEASE))
        # 2 archives, 2 of debug files, 20 SBOMs, layout, provenance
        assert len(names) == 27 and "SHA256SUMS" in names
        assert not differ, "\n\n".join(f"{name}:\n{how}" for name, how in differ)
        with open(os.path.join(root, RELEASE, "SHA256SUMS")) as fh:
            assert os.fstat(fh.fileno()).st_uid == user.pw_uid
    finally:
        for directory in opened:
            subprocess.run([setfacl, "-x", f"u:{USER}", directory], check=False)
        shutil.rmtree(base, ignore_errors=True)
