"""A toolchain's once-per-machine work, started in the background when a build begins: zig compiles musl's libc
for a target the first time a link asks for it, about 35 s, after Go has compiled everything else. Started at
the first step instead, it runs next to the compiles, and the first link finds it done or waits on zig's own
cache lock for the rest (BENCHMARKS.md: the cold first build of hello-cgo, 0.85x, 3 runs each).

It is not a build step: it takes no job slot, writes only the toolchain's cache, produces nothing the build
uses, and its failure is ignored (the link that needs the work does it again and reports what fails). It dies
with scons, like every command (setpriv's parent-death signal), and is stopped when the build ends.
"""
import os
import shutil
import subprocess
import tempfile
import threading

from .native import dies_with_scons, process_env

EMPTY = {False: b"int main(void) { return 0; }\n", True: b"int main() { return 0; }\n"}


class WarmUps:
    def __init__(self):
        self._lock = threading.Lock()
        self._procs: list = []
        self._dir = None
        self.started: list = []  # the argv of each, for tests and --debug

    def start(self, toolchain, platform, strip: bool, cxx: bool) -> bool:
        """Start `toolchain`'s warm-up link for `platform`; False when it has none or it cannot start."""
        with self._lock:
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="sconsrules-warm-")
            out = os.path.join(self._dir, f"warm{len(self._procs)}")
            argv = toolchain.warm_up(platform, strip, cxx, out)
            if not argv:
                return False
            try:
                proc = subprocess.Popen(dies_with_scons(argv), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=self._dir,
                                        env=process_env(toolchain.env(platform)))
            except OSError:
                return False
            self._procs.append(proc)
            self.started.append(argv)
            stdin = proc.stdin
            assert stdin is not None
            try:
                stdin.write(EMPTY[cxx])  # a few bytes: never blocks
                stdin.close()
            except OSError:
                pass  # it ended already: the link that needs the work does it
            return True

    def close(self) -> None:
        """Stop what still runs (the build did not need it, or failed) and remove the outputs."""
        with self._lock:
            for proc in self._procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            self._procs = []
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
