"""What a build shows while it works: `[n/total]` before each step line, and a notice before work that is slow
once per machine (zig compiling musl's libc for a new target), so that a quiet minute never looks like a hang.

n counts the steps the build has reached, whether they ran or were up to date (as Bazel counts cache hits);
total is every step the requested targets need. SCons's Progress hook sees each node when its task is prepared,
after SCons decided whether it runs, so the count costs nothing in a null build. A step line is printed by SCons
(`-Q` and `-s` apply as to any action).
"""
import threading

import SCons.Node
import SCons.Node.Alias
import SCons.Script
import SCons.Script.Main


class Progress:
    def __init__(self, ctx):
        self.ctx = ctx
        self.reached = set()
        self.total = None
        self.notices = set()
        self.lock = threading.Lock()

    def install(self):
        """Once per run, unless the SConstruct set a Progress() of its own (its choice wins)."""
        if SCons.Script.Main.ProgressObject is None:
            SCons.Script.Progress(self.visit)

    def visit(self, node):
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

    def notice_once(self, key, text):
        """`text`, the first time `key` is met in this run (a first use per machine is said once per run)."""
        with self.lock:
            if key in self.notices:
                return None
            self.notices.add(key)
            return text

    def _count(self):
        """Steps under the requested targets (all declared ones when none is named)."""
        targets = list(SCons.Script.BUILD_TARGETS)
        if not targets:
            return len({id(s) for s in self.ctx.steps})
        fs = SCons.Node.FS.get_default_fs()
        seen, steps, stack = set(), set(), []
        for target in targets:
            if not isinstance(target, SCons.Node.Node):
                target = SCons.Node.Alias.default_ans.lookup(target) or fs.Entry(target)
            if isinstance(target, SCons.Node.FS.Dir):
                under = target.abspath.rstrip("/") + "/"
                steps |= {id(s) for s in self.ctx.steps if s.out.startswith(under)}
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
        return len(steps)
