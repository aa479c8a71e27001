"""What a build shows while it works: `[n/total]` before each step line, a notice before work that is slow
once per machine (zig compiling musl's libc for a new target), and on a terminal a status line of the steps
running now with their elapsed time, so that a quiet minute never looks like a hang.

n counts the steps the build has reached, whether they ran or were up to date (as Bazel counts cache hits);
total is every step the requested targets need. SCons's Progress hook sees each node when its task is prepared,
after SCons decided whether it runs, so the count costs nothing in a null build. A step line is printed by SCons
(`-Q` and `-s` apply as to any action).
"""
import contextlib
import os
import shutil
import sys
import threading
import time

import SCons.Node
import SCons.Node.Alias
import SCons.Script
import SCons.Script.Main

from . import collector, scheduling


class Progress:
    def __init__(self, ctx):
        self.ctx = ctx
        self.reached = set()
        self.total = None
        self.notices = set()
        self.lock = threading.Lock()
        self.live = None

    def install(self):
        """Once per run, unless the SConstruct set a Progress() of its own (its choice wins). The live status
        line only on a terminal, outside CI, and not with -s."""
        if SCons.Script.Main.ProgressObject is None:
            SCons.Script.Progress(self.visit)
        if self.live is None and _live_wanted():
            self.live = LiveStatus(sys.stdout)
            sys.stdout = self.live

    def running(self, step):
        """A context manager around a step's work: the live line shows it while it runs."""
        return self.live.running(step) if self.live is not None else contextlib.nullcontext()

    def visit(self, node):
        collector.resume()  # the walk has started, whatever it builds first
        scheduling.retire_finished()
        step = getattr(node.attributes, "sconsrules_step", None) if hasattr(node, "attributes") else None
        if step is None:
            return
        with self.lock:
            if self.total is None:
                self.total = self._count()
            if id(step) not in self.reached:
                self.reached.add(id(step))
                node.attributes.sconsrules_number = len(self.reached)

    def counter(self, node):
        number = getattr(node.attributes, "sconsrules_number", None)
        return f"[{number}/{self.total}] " if number is not None and self.total else ""

    def notice_once(self, text):
        """`text` the first time this run meets it, else None (a first use per machine is said once per run)."""
        with self.lock:
            if text in self.notices:
                return None
            self.notices.add(text)
            return text

    def _count(self):
        """Steps under the requested targets (all declared ones when none is named)."""
        found = requested_steps(self.ctx)
        return len({id(s) for s in self.ctx.steps} if found is None else found)


def requested_steps(ctx):
    """ids of the steps under the targets this run was asked for; None when none is named (every declared one)."""
    targets = list(SCons.Script.BUILD_TARGETS)
    if not targets:
        return None
    fs = SCons.Node.FS.get_default_fs()
    seen, steps, stack = set(), set(), []
    for target in targets:
        if not isinstance(target, SCons.Node.Node):
            target = SCons.Node.Alias.default_ans.lookup(target) or fs.Entry(target)
        if isinstance(target, SCons.Node.FS.Dir):
            under = target.abspath.rstrip("/") + "/"
            steps |= {id(s) for s in ctx.steps if s.out.startswith(under)}
            continue
        stack.append(target)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        step = getattr(getattr(node, "attributes", None), "sconsrules_step", None)
        if step is not None:
            steps.add(id(step))
        stack.extend(node.children(scan=0))
    return steps


def _live_wanted():
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return sys.stdout.isatty() and not in_ci and not SCons.Script.GetOption("silent") \
        and not SCons.Script.GetOption("no_exec")


class LiveStatus:
    """Stands in for sys.stdout on a terminal: every write first erases the status line, which a thread redraws
    each second with the steps running now (`running: chain: go build ./cmd/chain [linux-arm64-musl-zig] 12s`)."""

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.RLock()
        self.steps = {}
        self.shown = False
        self.thread = None

    def write(self, text):
        with self.lock:
            self._erase()
            return self.stream.write(text)

    def flush(self):
        with self.lock:
            self.stream.flush()

    def isatty(self):
        return True

    def __getattr__(self, name):
        return getattr(self.stream, name)

    @contextlib.contextmanager
    def running(self, step):
        with self.lock:
            self.steps[id(step)] = (step, time.monotonic())
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, daemon=True)
                self.thread.start()
        try:
            yield
        finally:
            with self.lock:
                self.steps.pop(id(step), None)
                if not self.steps:
                    self._erase()

    def _erase(self):
        if self.shown:
            self.stream.write("\r\033[K")
            self.shown = False

    def _loop(self):
        while True:
            time.sleep(1)
            with self.lock:
                if not self.steps:
                    continue
                now = time.monotonic()
                parts = [f"{s.label}: {s.what}" + (f" [{s.config}]" if s.config else "") + f" {now - t:.0f}s"
                         for s, t in sorted(self.steps.values(), key=lambda st: st[1])]
                width = shutil.get_terminal_size((100, 24)).columns - 1
                line = ("running: " + ", ".join(parts))[:width]
                self._erase()
                self.stream.write(line)
                self.stream.flush()
                self.shown = True
