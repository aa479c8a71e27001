"""The standalone verifier: exit codes 0/1/2, plain and JSON output, never a traceback."""
import json
import subprocess
import sys


def verify(*args):
    return subprocess.run([sys.executable, "-m", "sconsrules.verify", *args], capture_output=True, text=True)


def test_pass_fail_and_bad_input(corpus):
    ok = verify("--platform", "linux/amd64", "--static", corpus.path("musl-static"))
    assert ok.returncode == 0 and ok.stdout == ""
    bad = verify("--platform", "linux/amd64", "--static", corpus.path("glibc-dynamic"))
    assert bad.returncode == 1
    assert f"{corpus.path('glibc-dynamic')}: link.needed: " in bad.stdout and "NEEDED libc.so.6" in bad.stdout
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
