"""The standalone verifier: exit codes 0/1/2, plain and JSON output, never a traceback."""
import json
import os
import subprocess
import sys


def verify(*args):
    return subprocess.run([sys.executable, "-m", "sconsrules.verify", *args], capture_output=True, text=True)


def test_pass_fail_and_bad_input(corpus):
    ok = verify("--platform", "linux/amd64", "--static", os.path.join(corpus, "musl-static"))
    assert ok.returncode == 0 and ok.stdout == ""
    bad = verify("--platform", "linux/amd64", "--static", os.path.join(corpus, "glibc-dynamic"))
    assert bad.returncode == 1
    assert f"{os.path.join(corpus, 'glibc-dynamic')}: link.needed: " in bad.stdout and "NEEDED libc.so.6" in bad.stdout
    for args in (["--platform", "linux/sparc", "x"], [], [os.path.join(corpus, "random")], ["/no/such/file"]):
        proc = verify(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_json_report(corpus):
    proc = verify("--json", "--platform", "linux/arm64", os.path.join(corpus, "zig-arm64"), os.path.join(corpus, "random"))
    assert proc.returncode == 2
    reports = json.loads(proc.stdout)
    assert reports[0]["ok"] and reports[0]["summary"]["machine"] == "EM_AARCH64"
    assert {c["check"] for c in reports[0]["checks"]} >= {"identity.machine", "libc", "hardening.gnu-stack"}
    assert reports[1]["ok"] is False and "neither an ELF file nor an ar archive" in reports[1]["error"]
