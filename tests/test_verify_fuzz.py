"""Malformed input never crashes the verifier: thousands of mutated ELF files and archives."""
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sconsrules.configure.platform import Platform
from sconsrules.verify import MalformedInput, Policy, verify_bytes

POLICY = Policy(Platform.parse("linux/amd64"), stripped=True, go=True, cgo=True, leak_paths=("/root",))
SEEDS = ("musl-static-stripped", "go-cgo-arm64", "zig-static-pie", "libmusl.a")
_cache = {}


def seed(corpus, name):
    if name not in _cache:
        with open(corpus.path(name), "rb") as fh:
            _cache[name] = fh.read()
    return _cache[name]


def mutate(data, edits, cut):
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf[:max(8, int(len(buf) * cut))])


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(SEEDS),
       edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=12),
       cut=st.floats(0.0, 1.0))
def test_mutations_raise_only_malformed_input(corpus, name, edits, cut):
    data = mutate(seed(corpus, name)[:65536] if cut < 0.5 else seed(corpus, name), edits, cut)
    try:
        report = verify_bytes("mutated", data, POLICY)
    except MalformedInput:
        return
    assert report.kind in ("executable", "object", "archive")


def test_command_exits_2_on_malformed_files(corpus, tmp_path):
    data = seed(corpus, "musl-static-stripped")
    paths = []
    for i in range(200):
        path = tmp_path / f"m{i}"
        path.write_bytes(data[: 20 + i * 7])  # truncated inside the headers and program headers
        paths.append(str(path))
    for path in paths[:50]:
        proc = subprocess.run([sys.executable, "-m", "sconsrules.verify", path], capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (path, proc.stderr)
    proc = subprocess.run([sys.executable, "-m", "sconsrules.verify", "--json", *paths], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
