"""Shared state of one SCons run: the registry, the output layout, the executor and the SCons builders
through which every Step becomes nodes. Rules talk to SCons only through here.
"""
import hashlib
import os
import sys

import SCons.Action
import SCons.Builder
import SCons.Errors
import SCons.Scanner
import SCons.Scanner.C
import SCons.Script

from .errors import RuleError
from .execute import NativeExecutor, cache, perform
from .execute.container import ContainerExecutor
from .execute.records import Records
from .execute.run import BuildDirectoryBusy, BuildLock
from .declare import REGISTRY, relaxations
from .gosrc import GoSourceIndex
from .toolchains.go import GoSDK
from .toolchains.zig import zig_cache_dir

STEP_SIG = "SCONSRULES_STEP_SIG"


def _inputs_digest(step, node, source):
    """The content digest of a step's digest_inputs and of every header scanned from its sources, from the
    signatures SCons has computed anyway; sorted by content, so it does not depend on the checkout's path."""
    if not step.digest_env:
        return None
    wanted = set(step.digest_inputs)
    csigs = [s.get_csig() for s in source if s.abspath in wanted] + [i.get_csig() for i in node.implicit or ()]
    return hashlib.sha256(" ".join(sorted(csigs)).encode()).hexdigest()[:16]


def _outputs(step, targets):
    """(files, trees) a step leaves: a directory output is watched whole (its headers too)."""
    if step.members:
        return [], [step.out]
    return [t.abspath for t in targets], []


def _run_step(target, source, env):
    step = target[0].attributes.sconsrules_step
    key = None
    if step.shared_cache:
        key = cache.key_of(step.signature(root=env.Dir("#").abspath), [s.get_csig() for s in source])
    try:
        perform(step, CONTEXT.executors[step.executor], key, _inputs_digest(step, target[0], source))
    except RuleError as exc:
        raise SCons.Errors.BuildError(node=target[0], errstr=exc.line(), status=2, exitstatus=2) from None
    CONTEXT.records_for(env).record(*_outputs(step, target))
    return 0


def _show_step(target, source, env):
    step = target[0].attributes.sconsrules_step
    return f"{step.rule} {step.label}: {step.what} [{step.config}]"


STEP_ACTION = SCons.Action.Action(_run_step, _show_step, varlist=[STEP_SIG])
SCANNED_SUFFIXES = (".c", ".h", ".s", ".S", ".inc", ".go")


def _include_scanner():
    """SCons's C scanner for the files that can #include (cgo preambles too), by suffix: a step's sources also
    hold archives and binaries, and reading libcrypto.a as text took most of a null build."""
    c = SCons.Scanner.C.CScanner()
    return SCons.Scanner.ScannerBase({suffix: c for suffix in SCANNED_SUFFIXES})


class Context:
    def __init__(self):
        self.registry = REGISTRY
        self.gosrc = GoSourceIndex()
        self.executors = {"native": NativeExecutor()}
        self._go = {}
        self._records = {}
        self._build_dirs = {}  # "#build" -> its absolute path (the lookup is on every step's path)
        self.signature_database_checked = False
        self.builder = SCons.Builder.Builder(action=STEP_ACTION)
        self.scanning_builder = SCons.Builder.Builder(action=STEP_ACTION, source_scanner=_include_scanner())

    def build_dir(self, env):
        """The absolute build directory (env["SCONSRULES_BUILD_DIR"]); a top-relative one is looked up once, as
        every step asks."""
        value = env["SCONSRULES_BUILD_DIR"]
        build = self._build_dirs.get(value)
        if build is None:
            build = env.Dir(value).abspath
            if str(value).startswith("#"):
                self._build_dirs[value] = build
        return build

    def records_for(self, env):
        """The output records of this environment's build directory (one journal per directory and run); the
        first use locks the directory for this run (`scons -h` only reads, and takes no lock)."""
        build = self.build_dir(env)
        if build not in self._records:
            if not SCons.Script.GetOption("help"):
                try:
                    BuildLock(build).acquire(wait=not SCons.Script.GetOption("sconsrules_no_wait"))
                except BuildDirectoryBusy as exc:
                    raise RuleError("build directory", None, str(exc),
                                    "wait for it to finish (run again without --no-wait) or stop it") from None
            self._records[build] = Records(build)
        return self._records[build]

    def rebuild_if_modified(self, env, nodes, files, trees=()):
        """Outputs changed on disk since their step finished are rebuilt, with one line saying which."""
        changed = self.records_for(env).changed(files, trees)
        top = env.Dir("#").abspath if changed else None
        for path in changed:
            sys.stdout.write(f"sconsrules: {os.path.relpath(path, top)} was modified outside the build; "
                             "rebuilding it\n")
        if changed:
            env.AlwaysBuild(nodes)

    def outdir(self, env, config, srcdir):
        """build/<configuration>/<SConscript dir>: one tree per configuration."""
        top = env.Dir("#").abspath
        rel = os.path.relpath(srcdir.abspath, top)
        return os.path.normpath(os.path.join(self.build_dir(env), config.dirname, rel))

    def prefix_map_flags(self, env):
        """Source paths in objects relative to the project, not this machine's checkout."""
        return [f"-ffile-prefix-map={env.Dir('#').abspath}=."]

    def executor_for(self, env, config, rule, name, sources=()):
        """The executor key for `config`'s toolchain. A container gets one builder per configuration, which may
        write only below that configuration's output directory and the toolchain's caches; its read-only mounts
        grow with every source tree it must see."""
        toolchain = config.toolchain
        if not hasattr(toolchain, "container_env"):
            return "native"
        key = f"{toolchain.name}/{config.dirname}"
        executor = self.executors.get(key)
        if executor is None:
            output = os.path.join(self.build_dir(env), config.dirname)
            executor = ContainerExecutor(toolchain, {(output, False), (toolchain.cache_dir, False)}, rule, name)
            self.executors[key] = executor
        for path in (env.Dir("#").abspath,) + tuple(sources):
            if not any(path == m or path.startswith(m + os.sep) for m, _ in executor.mounts):
                executor.mounts.add((path, True))
        return key

    def relaxations(self, env, own, rule, name):
        """The environment's SCONSRULES_VERIFY relaxations, overridden per check by the rule's verify=."""
        try:
            merged = dict(relaxations(env.get("SCONSRULES_VERIFY")))
        except ValueError as exc:
            raise RuleError(rule, name, f"SCONSRULES_VERIFY: {exc}") from None
        merged.update(own)
        return tuple(sorted(merged.items()))

    def leak_paths(self, env, go, toolchain):
        """Directories of this machine that must not appear in an artifact."""
        paths = [env.Dir("#").abspath, os.path.expanduser("~"), go.goroot(), zig_cache_dir()]
        paths += [os.environ[k] for k in ("GOPATH", "GOMODCACHE", "GOCACHE") if os.environ.get(k)]
        return tuple(sorted({os.path.realpath(p) for p in paths if p and os.path.realpath(p) != "/"}))

    def go_sdk(self, env, rule, name):
        exe = env.subst(env.get("GO", "go"))
        if exe not in self._go:
            self._go[exe] = GoSDK.find(exe)
        if self._go[exe] is None:
            raise RuleError(rule, name, f"the Go toolchain '{exe}' was not found",
                            "install Go (https://go.dev/dl or your distribution) and put it on PATH, or set env['GO']")
        return self._go[exe]

    def step_nodes(self, env, step, sources, scan_paths=None, targets=None):
        """SCons nodes for `step`; its signature enters the action's, so any change in it rebuilds."""
        targets = targets or [step.out] + ([step.out + ".verify.json"] if step.report else [])
        if scan_paths is not None:
            nodes = self.scanning_builder(env, targets, sources, CPPPATH=list(scan_paths), **{STEP_SIG: step.signature()})
        else:
            nodes = self.builder(env, targets, sources, **{STEP_SIG: step.signature()})
        for node in nodes:
            node.attributes.sconsrules_step = step
        self.rebuild_if_modified(env, nodes, *_outputs(step, nodes))
        return nodes


CONTEXT = Context()
