"""Verifier time per binary, side by side with `file` and `readelf` on the same files.

Builds a ~2 MB (stripped cgo hello) and a ~10 MB (unstripped cgo net/http server: DWARF to scan)
static musl binary with go + zig, then times each tool N times; prints medians, min/max and ratios.
Usage: python bench/verify_time.py [--runs 7]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from sconsrules.configure.platform import Platform
from sconsrules.configure.toolchains.zig import ZigToolchain
from sconsrules.verify import Policy, verify_file

SMALL = 'package main\n\n// static int two(void) { return 2; }\nimport "C"\n\nimport "fmt"\n\nfunc main() { fmt.Println(C.two()) }\n'
LARGE = ('package main\n\n// static int two(void) { return 2; }\nimport "C"\n\nimport (\n\t"encoding/json"\n\t"fmt"\n'
         '\t"net/http"\n\t"text/template"\n)\n\nfunc main() {\n\t_ = template.New("x")\n\tb, _ := json.Marshal(int(C.two()))\n'
         '\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, string(b)) })\n'
         '\t_ = http.ListenAndServe("127.0.0.1:0", nil)\n}\n')


def build(d, name, src, strip):
    pkg = os.path.join(d, name + "-src")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "go.mod"), "w") as fh:
        fh.write("module example.com/bench\n\ngo 1.22\n")
    with open(os.path.join(pkg, "main.go"), "w") as fh:
        fh.write(src)
    zig = ZigToolchain().exe
    ext = "'-extldflags=-static -s'" if strip else "-extldflags=-static"
    ldflags = ("-s -w " if strip else "") + "-linkmode=external " + ext
    env = dict(os.environ, CGO_ENABLED="1", GOOS="linux", GOARCH="amd64", CC=f"{zig} cc -target x86_64-linux-musl",
               CGO_CFLAGS="-O2", CGO_LDFLAGS="", GOFLAGS="")
    out = os.path.join(d, name)
    subprocess.run(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "."], cwd=pkg, env=env, check=True)
    return out


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    d = tempfile.mkdtemp(prefix="verify-bench-")
    try:
        files = [build(d, "small", SMALL, strip=True), build(d, "large", LARGE, strip=False)]
        policy = Policy(Platform.parse("linux/amd64"), go=True, cgo=True, trimpath=True,
                        leak_paths=(d, os.path.expanduser("~")))
        print(f"{'binary':<8} {'size':>8}  {'tool':<22} {'median':>9} {'min':>9} {'max':>9} {'ratio':>7}")
        for path in files:
            size = os.path.getsize(path)
            rows = [
                ("sconsrules verify", lambda path=path: verify_file(path, policy)),
                ("sconsrules-verify CLI", lambda path=path: subprocess.run(
                    [sys.executable, "-m", "sconsrules.verify", path], capture_output=True)),
                ("file", lambda path=path: subprocess.run(["file", path], capture_output=True)),
                ("readelf -lSdsW", lambda path=path: subprocess.run(["readelf", "-lSdsW", path], capture_output=True)),
            ]
            base = None
            for name, fn in rows:
                if not name.startswith("sconsrules") and not shutil.which(name.split()[0]):
                    continue
                samples = timed(fn, args.runs)
                med = statistics.median(samples)
                base = base or med
                print(f"{os.path.basename(path):<8} {size / 1e6:>6.1f}MB  {name:<22} {med * 1e3:>7.1f}ms "
                      f"{min(samples) * 1e3:>7.1f}ms {max(samples) * 1e3:>7.1f}ms {med / base:>6.2f}x")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
