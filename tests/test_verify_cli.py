"""The standalone verifier: exit codes 0/1/2, plain and JSON output, never a traceback."""
import json
import subprocess
import sys

from conftest import require


def verify(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sconsrules.verify", *args], capture_output=True, text=True, cwd=cwd)


def test_pass_fail_and_bad_input(corpus):
    ok = verify("--platform", "linux/amd64", "--static", "--dwarf-allow", "/build/", corpus.path("musl-static"))
    assert ok.returncode == 0
    assert ok.stdout.split() == ["ok", corpus.path("musl-static"), "linux/amd64", "static", "musl", "not-stripped"]
    assert verify("-q", "--platform", "linux/amd64", "--dwarf-allow", "/build/", corpus.path("musl-static")).stdout == ""
    # Debian's libc.a names its own build directory in DWARF: outside the allow-list unless allowed
    unallowed = verify("--platform", "linux/amd64", corpus.path("musl-static"))
    assert unallowed.returncode == 1 and "leaks.dwarf: debug info must not name paths of the build machine: /build/musl-" \
        in unallowed.stdout
    bad = verify("--platform", "linux/amd64", "--static", corpus.path("glibc-dynamic"))
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert lines[0].split() == ["FAIL", corpus.path("glibc-dynamic"), "linux/amd64", "dynamic", "glibc", "not-stripped"]
    assert "      link.needed: a static binary needs no shared library (DT_NEEDED): NEEDED libc.so.6" in lines
    assert verify("-q", "--platform", "linux/amd64", corpus.path("glibc-dynamic")).stdout.startswith("FAIL")
    for args in (["--platform", "linux/sparc", "x"], [], [corpus.path("random")], ["/no/such/file"]):
        proc = verify(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_json_report(corpus):
    proc = verify("--json", "--platform", "linux/arm64", corpus.path("zig-arm64"), corpus.path("random"))
    assert proc.returncode == 2
    reports = json.loads(proc.stdout)
    assert reports[0]["ok"] and reports[0]["summary"]["machine"] == "EM_AARCH64"
    assert {c["check"] for c in reports[0]["checks"]} >= {"identity.machine", "libc", "hardening.gnu-stack"}
    assert reports[1]["ok"] is False and "neither an ELF file nor an ar archive" in reports[1]["error"]


def test_each_line_says_what_the_file_is(corpus):
    """Without --platform the detected platform is printed, so an arm64 binary is never silently "fine"; a Go
    binary shows its Go version; without --static a dynamic binary is still reported as dynamic."""
    arm = verify(corpus.path("go-cgo-arm64"))
    assert arm.returncode == 0
    words = arm.stdout.split()
    assert words[:6] == ["ok", corpus.path("go-cgo-arm64"), "linux/arm64", "(detected)", "static", "musl"]
    assert words[6].startswith("go1.")
    dynamic = verify(corpus.path("glibc-dynamic"))
    assert dynamic.returncode == 1 and dynamic.stdout.split()[2:6] == ["linux/amd64", "(detected)", "dynamic", "glibc"]
    assert "      libc: must be linked against musl" in dynamic.stdout


def test_leak_defaults_do_not_depend_on_where_it_runs(corpus, tmp_path):
    """A binary that names its run-time directory (/srv/app/data, here tmp_path/data) is judged the same from
    any directory: the default leak paths are $HOME's, not the current directory's."""
    source = tmp_path / "data.c"
    source.write_text(f'#include <stdio.h>\nint main(void) {{ puts("{tmp_path}/data"); return 0; }}\n')
    subprocess.run([require("musl-gcc"), "-O2", "-static", str(source), "-o", str(tmp_path / "app")], check=True)
    for cwd in (str(tmp_path), "/tmp", "/"):
        proc = verify("--platform", "linux/amd64", "--dwarf-allow", "/build/", str(tmp_path / "app"), cwd=cwd)
        assert proc.returncode == 0 and proc.stdout.startswith("ok"), (cwd, proc.stdout)
    assert verify("--leak-path", str(tmp_path), str(tmp_path / "app")).returncode == 1  # when asked, it is found


def test_help_lists_the_checks_and_exit_codes():
    text = verify("-h").stdout
    assert "exit status: 0 every check passed" in text and "1 a check failed" in text
    for check in ("identity", "libc", "hardening", "leaks"):
        assert f"\n  {check} " in text
