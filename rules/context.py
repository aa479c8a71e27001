"""One SCons run's state: the registry of declared targets, the toolchains and executors, the output layout
and records, and the SCons builders through which every Step becomes nodes. Rules talk to SCons only here.

A Context belongs to the run's file-system tree (SCons's `env.fs`, one per run), so every Environment of a
run shares it, and a test that makes a new FS in-process gets a new one.
"""
import atexit
import hashlib
import importlib
import os
import sys
import threading
from typing import TYPE_CHECKING, Dict, List, Optional

import SCons.Action
import SCons.Builder
import SCons.Errors
import SCons.Scanner
import SCons.Scanner.C
import SCons.Script

from .actions import Step
from .actions.commands import ARCHIVE_LIBRARY
from .configure.config import Configuration
from .configure.identity import ToolIdentities
from .configure.toolchains import Toolchains
from .configure.toolchains.go import GoSDK
from .declare.attributes import relaxations
from .declare.gosrc import GoSourceIndex
from .declare.registry import Registry
from .errors import RuleError
from .execute import Executor, NativeExecutor, cache, members, perform
from .execute.records import Records
from .execute.verdicts import Verdicts
from .execute.run import BuildDirectoryBusy, BuildLock
from .execute.shared import SharedOutputs, Tally
from .execute.slots import Slots
from .execute.warmup import WarmUps
from . import collector
from .compdb import CompileCommands
from .progress import Progress, requested_steps

if TYPE_CHECKING:
    from .execute.container import ContainerExecutor

LINKING_RULES = ("GoCgoBinary", "ForeignCLib")  # their steps link: a toolchain's once-per-machine work is done
SCANNED_SUFFIXES = (".c", ".h", ".s", ".S", ".inc", ".go", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx")
_ATTRIBUTE = "sconsrules_context"


def _inputs_digest(step: Step, node, source) -> Optional[str]:
    """The content digest of a step's digest_inputs and of every header scanned from its sources, from the
    signatures SCons has computed anyway; sorted by content, so it does not depend on the checkout's path."""
    if not step.caching.digest_env:
        return None
    wanted = set(step.caching.digest_inputs)
    csigs = [s.get_csig() for s in source if s.abspath in wanted] + [i.get_csig() for i in node.implicit or ()]
    return hashlib.sha256(" ".join(sorted(csigs)).encode()).hexdigest()[:16]


def _scanned_inputs(step: Step, node, source) -> Optional[dict]:
    """For a step whose Call asks for them (a library's members): {path: digest} of each source's content and of
    every file SCons's scanner found from it, in its order. The scan is the one SCons did to decide whether the
    step runs (memoized on the nodes), and so are the content signatures."""
    if not any(getattr(c, "scanned", False) for c in step.commands):
        return None
    executor = node.get_executor()
    env, path, kw = executor.get_build_env(), executor.get_build_scanner_path, executor.get_kw()
    scanner = node.builder.source_scanner
    found = {}
    for s in source:
        deps = s.get_implicit_deps(env, scanner, path, kw) if scanner is not None else []
        text = "\n".join(f"{d.abspath} {d.get_csig()}" for d in [s] + list(deps))
        found[s.abspath] = hashlib.sha256(text.encode()).hexdigest()
    return found


def _outputs(step: Step, targets):
    """(files, trees) a step leaves: a directory output is watched whole (its headers too)."""
    if step.outputs.kind == "tree":
        return [step.outputs.stamp_path] if step.outputs.stamp_path else [], [step.out]
    return [t.abspath for t in targets], []


def _run_step(target, source, env):
    step = target[0].attributes.sconsrules_step
    ctx = Context.of(env)
    ctx.warm_up()
    shared, remote_cache = None, ctx.remote_cache()
    if step.caching.shared or (step.caching.remote and remote_cache is not None):
        root = env.Dir("#").abspath
        installs = ctx.install_dirs(target[0].attributes.sconsrules_toolchain)
        key = cache.key_of(step.signature(root, installs), [s.get_csig() for s in source])
        inputs = [s.abspath for s in source] + [i.abspath for i in target[0].implicit or ()]
        shared = SharedOutputs(step, key, ctx.tally, remote_cache, root, inputs, installs)
    try:
        toolchain = target[0].attributes.sconsrules_toolchain
        ctx.prepare(toolchain)
        with ctx.progress.running(step), ctx.slots.hold():
            perform(step, ctx.executors[step.executor], shared, _inputs_digest(step, target[0], source),
                    echo=bool(ctx.options.get("subcommands")), verdicts=ctx.verdicts_for(env),
                    inputs=_scanned_inputs(step, target[0], source))
    except RuleError as exc:
        raise SCons.Errors.BuildError(node=target[0], errstr=exc.line(), status=2, exitstatus=2) from None
    if toolchain is not None and step.config and step.rule in LINKING_RULES:
        toolchain.used(ctx.platform_of(step.config))
    if target[0].attributes.sconsrules_exports:
        ctx.compile_commands.write(ctx.build_dir(env))
    ctx.records_for(env).record(*_outputs(step, target))
    return 0


def _show_step(target, source, env):
    step = target[0].attributes.sconsrules_step
    ctx = Context.of(env)
    config = f" [{step.config}]" if step.config else ""
    line = f"{ctx.progress.counter(target[0])}{step.rule} {step.label}: {step.what}{config}"
    toolchain = target[0].attributes.sconsrules_toolchain
    first = toolchain.first_use(ctx.platform_of(step.config)) if toolchain is not None and step.config else None
    notices = ctx.warm_up() + [n for n in [first and ctx.progress.notice_once(first)] if n]
    return "".join(f"sconsrules: {n}\n" for n in notices) + line + "".join(
        f"\n{step.rule} {step.label}: compile {shown}{config}" for shown in _members_to_compile(step, target, source))


def _members_to_compile(step, target, source):
    """A dry run names the members a library's step would compile (the step itself does when it runs)."""
    call = step.commands[0] if step.commands else None
    if not SCons.Script.GetOption("no_exec") or getattr(call, "function", None) != ARCHIVE_LIBRARY:
        return []
    return members.to_compile(call.args, _scanned_inputs(step, target[0], source))


class _StepAction(SCons.Action.FunctionAction):
    """The one action of every step; its signature ends with the step's own (actions/step.py), read from the
    target, so any change in the step rebuilds it. Not a construction variable in a per-call override: SCons
    makes an environment per override, 80 us a call, 43 ms of a 540-step read."""

    def get_presig(self, target, source, env, executor=None):
        collector.resume()  # SCons asks for it first when it walks the graph
        return bytes(super().get_presig(target, source, env, executor)) + \
            target[0].attributes.sconsrules_step.signature().encode()


STEP_ACTION = _StepAction(_run_step, {"strfunction": _show_step})


def _scan_paths(env, directory, target=None, source=None, argument=None):
    """The include directories of a step's sources, kept on its target rather than in a CPPPATH override (see
    _StepAction)."""
    return tuple(directory.Rfindalldirs(target[0].attributes.sconsrules_scan_paths)) if target else ()


def _include_scanner():
    """SCons's C scanner for the files that can #include (cgo preambles too), by suffix: a step's sources also
    hold archives and binaries, and reading libcrypto.a as text took most of a null build."""
    c = SCons.Scanner.C.CScanner()
    c.path_function = _scan_paths
    return SCons.Scanner.ScannerBase({suffix: c for suffix in SCANNED_SUFFIXES})


class Options:
    """The run's sconsrules command-line options (added by the tool), by short name."""

    def get(self, name: str):
        return SCons.Script.GetOption("sconsrules_" + name)


class Context:
    def __init__(self, options=None) -> None:
        self.options = options or Options()
        self.registry = Registry()
        self.gosrc = GoSourceIndex()
        self.identities = ToolIdentities()
        self.toolchains = Toolchains(self.identities)
        self.slots = Slots()  # -j's job slots: each running step holds one (execute/slots.py)
        self.executors: Dict[str, Executor] = {"native": NativeExecutor(self.slots)}
        self._containers: Dict[str, "ContainerExecutor"] = {}  # the container executors among them
        self.signature_database_checked = False
        self.options_checked = False
        self.progress = Progress(self)
        self.compile_commands = CompileCommands()
        self.tally = Tally()  # shared outputs: what came from which cache
        self._remote = None  # remote.RemoteCache, made on first use
        self._remote_checked = False
        self.help_targets: List = []  # `scons -h`: the declared targets, and the table last written
        self.help_table = ""
        self.launch_alias = None  # --run: the alias the build is narrowed to, and (target, config, node) to run
        self.launch: Optional[tuple] = None
        self.cleaned_dirs: set = set()  # `scons -c`: build directories registered for removal
        self._lock = threading.Lock()
        self._memo: Dict[object, object] = {}
        self._go: Dict[str, Optional[GoSDK]] = {}
        self._records: Dict[str, Records] = {}
        self._verdicts: Dict[str, Verdicts] = {}
        self._build_dirs: Dict[str, str] = {}  # "#build" -> its absolute path (looked up on every step's path)
        self._dirnames: Dict[str, Configuration] = {}
        self._prepared: set = set()
        self.warm_ups = WarmUps()
        self._warm_checked = False
        self.steps: List[Step] = []  # every Step declared in this run, in order (what analysis tests inspect)
        self.builder = SCons.Builder.Builder(action=STEP_ACTION)
        self.scanning_builder = SCons.Builder.Builder(action=STEP_ACTION, source_scanner=_include_scanner())
        atexit.register(self.close)

    @classmethod
    def of(cls, env) -> "Context":
        """The run's context (made on first use): kept on the run's file-system tree, which every Environment
        and node of the run shares."""
        fs = env.fs
        ctx = getattr(fs, _ATTRIBUTE, None)
        if ctx is None:
            ctx = cls()
            setattr(fs, _ATTRIBUTE, ctx)
        return ctx

    def install(self, env) -> None:
        """Make this the context of `env`'s run (tests: a context with their own options)."""
        setattr(env.fs, _ATTRIBUTE, self)

    def memo(self, key, compute):
        """`compute()` once per run and key (module downloads shared by binaries, one node per archive)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def close(self) -> None:
        """Remove the builder containers of this run (at exit, also after a failure or Ctrl-C); `scons -c` of a
        project with container toolchains also removes the builders kept for later runs."""
        self.warm_ups.close()
        for executor in list(self.executors.values()):
            executor.close()
        roots = {e.project for e in self._containers.values() if e.project}
        if SCons.Script.GetOption("clean") and roots:
            from .execute.container import remove_idle_builders  # a container toolchain is in use

            remove_idle_builders(roots)
        if self._remote is not None:
            self._remote.close()
        if self.tally.counts["built"] or self.tally.counts["remote cache"]:  # stored something: may be over
            try:
                cache.trim()
            except OSError:
                pass  # trimming is housekeeping: the next run tries again

    @property
    def remote_client(self):
        """The client if a step has asked for one (the end-of-build line), else None."""
        return self._remote

    def remote_cache(self):
        """The run's REAPI cache client (remote.py), or None when none is configured; made on first use."""
        with self._lock:
            if not self._remote_checked:
                self._remote_checked = True
                from .execute import remote  # only a run that may need it loads it

                settings = remote.settings_from(self.options.get, os.environ)
                if settings is not None:
                    self._remote = remote.RemoteCache(settings)
            return self._remote

    def install_dirs(self, toolchain) -> tuple:
        """(directory, name) of the tools a step may name by path: its C toolchain's and every Go SDK's root."""
        dirs = tuple(toolchain.install_dirs()) if toolchain is not None else ()
        return dirs + tuple((sdk.goroot(), "<goroot>") for sdk in self._go.values() if sdk is not None)

    def platform_of(self, dirname: str):
        """The platform of a configuration directory name declared in this run."""
        return self._dirnames[dirname].platform

    def warm_up(self) -> List[str]:
        """Before the first step runs: start the once-per-machine work (execute/warmup.py) of every toolchain and
        platform that has some left, for the variants the links this run builds will ask for; and import the
        verifier (~50 ms, pyelftools most of it) on a thread while the first step's command runs, instead of after
        it, on the critical path of every edit. Returns what to say about it, once per run (not for a dry run,
        which starts nothing)."""
        with self._lock:
            if self._warm_checked or SCons.Script.GetOption("no_exec"):
                return []
            self._warm_checked = True
            threading.Thread(target=importlib.import_module, args=(f"{__package__}.verify.checks",), daemon=True,
                             name="sconsrules-import-verifier").start()
            pending = [link for link in self.registry.links if link[1].toolchain.first_use(link[1].platform)]
            wanted = requested_steps(self) if pending else None
            starts = [(c, strip, cxx) for node, c, strip, cxx in pending
                      if wanted is None or id(node.attributes.sconsrules_step) in wanted]
        notices = []
        for config, strip, cxx in dict.fromkeys(starts):
            if self.warm_ups.start(config.toolchain, config.platform, strip, cxx):
                first = self.progress.notice_once(config.toolchain.first_use(config.platform))
                notices += [f"{first}: started now, in the background"] if first else []
        return notices

    def prepare(self, toolchain) -> None:
        """What a toolchain needs on this machine, made once per run before its first command."""
        if toolchain is None:
            return
        with self._lock:
            if id(toolchain) not in self._prepared:
                toolchain.prepare()
                self._prepared.add(id(toolchain))

    # -- configurations ------------------------------------------------------------------------------------

    def configuration(self, platform, toolchain, rule: str, name: str) -> Configuration:
        """The configuration of `toolchain` for `platform`; two different toolchains never share its tree."""
        config = Configuration.of(platform, toolchain)
        first = self._dirnames.setdefault(config.dirname, config)
        if first != config:
            raise RuleError(rule, name, f"two different toolchains would build into build/{config.dirname}: "
                            f"{first.toolchain_identity} and {config.toolchain_identity}",
                            "give the container toolchains distinct names with name=")
        return config

    def configurations(self, env, rule: str, name: str, platforms, toolchain) -> List[Configuration]:
        return [self.configuration(p, self.toolchains.resolve(toolchain, p, rule, name), rule, name)
                for p in platforms]

    def executor_for(self, env, config: Configuration, who, sources=()) -> str:
        """The executor key for `config`'s toolchain. A container gets one builder per configuration, which may
        write only below that configuration's output directory and the toolchain's caches; its read-only mounts
        grow with every source tree it must see."""
        toolchain = config.toolchain
        if toolchain.executor == "native":
            return "native"
        key = f"{toolchain.name}/{config.dirname}"
        executor = self._containers.get(key)
        if executor is None:
            from .execute.container import ContainerExecutor  # loaded only when a container toolchain is used

            writable = {(os.path.join(self.build_dir(env), config.dirname), False)}
            writable |= {(d, False) for d in toolchain.cache_dirs()}
            executor = ContainerExecutor(toolchain, writable, who[0], who[1], project=env.Dir("#").abspath,
                                         slots=self.slots)
            self._containers[key] = self.executors[key] = executor
        for path in (env.Dir("#").abspath,) + tuple(sources):
            if not any(path == m or path.startswith(m + os.sep) for m, _ in executor.mounts):
                executor.mounts.add((path, True))
        return key

    # -- layout --------------------------------------------------------------------------------------------

    def build_dir(self, env) -> str:
        """The absolute build directory (env["SCONSRULES_BUILD_DIR"]); a top-relative one is looked up once, as
        every step asks."""
        value = env["SCONSRULES_BUILD_DIR"]
        build = self._build_dirs.get(value)
        if build is None:
            build = env.Dir(value).abspath
            if str(value).startswith("#"):
                self._build_dirs[value] = build
        return build

    def outdir(self, env, config: Configuration, srcdir) -> str:
        """build/<configuration>/<SConscript dir>: one tree per configuration."""
        rel = os.path.relpath(srcdir.abspath, env.Dir("#").abspath)
        return os.path.normpath(os.path.join(self.build_dir(env), config.dirname, rel))

    def records_for(self, env) -> Records:
        """The output records of this environment's build directory (one journal per directory and run); the
        first use locks the directory for this run (`scons -h` only reads, and takes no lock)."""
        build = self.build_dir(env)
        if build not in self._records:
            if not SCons.Script.GetOption("help"):
                try:
                    BuildLock(build).acquire(wait=not self.options.get("no_wait"))
                except BuildDirectoryBusy as exc:
                    raise RuleError("build directory", None, str(exc),
                                    "wait for it to finish (run again without --no-wait) or stop it") from None
            self._records[build] = Records(build)
        return self._records[build]

    def verdicts_for(self, env) -> Verdicts:
        """The passing verdicts of this environment's build directory (execute/verdicts.py)."""
        build = self.build_dir(env)
        if build not in self._verdicts:
            self._verdicts[build] = Verdicts(build)
        return self._verdicts[build]

    def rebuild_if_modified(self, env, nodes, files, trees=()) -> None:
        """Outputs changed on disk since their step finished are rebuilt, with one line saying which."""
        changed = self.records_for(env).changed(files, trees)
        top = env.Dir("#").abspath if changed else None
        for path in changed:
            sys.stdout.write(f"sconsrules: {os.path.relpath(path, top)} was modified outside the build; "
                             "rebuilding it\n")
        if changed:
            env.AlwaysBuild(nodes)

    # -- what every rule asks ------------------------------------------------------------------------------

    def prefix_map_flags(self, env, toolchain) -> List[str]:
        """Source paths in objects relative to the project, not this machine's checkout; the toolchain's own
        headers by a name of its choosing, not where it is installed."""
        return [f"-ffile-prefix-map={env.Dir('#').abspath}=."] + list(toolchain.prefix_map_flags())

    def relaxations(self, env, own, rule: str, name: str) -> tuple:
        """The environment's SCONSRULES_VERIFY relaxations, overridden per check by the rule's verify=."""
        try:
            merged = dict(relaxations(env.get("SCONSRULES_VERIFY")))
        except ValueError as exc:
            raise RuleError(rule, name, f"SCONSRULES_VERIFY: {exc}") from None
        merged.update(own)
        return tuple(sorted(merged.items()))

    def leak_paths(self, env, go, toolchain) -> tuple:
        """Directories of this machine that must not appear in an artifact."""
        paths = [env.Dir("#").abspath, os.path.expanduser("~"), go.goroot()] + list(toolchain.cache_dirs())
        paths += [os.environ[k] for k in ("GOPATH", "GOMODCACHE", "GOCACHE") if os.environ.get(k)]
        return tuple(sorted({os.path.realpath(p) for p in paths if p and os.path.realpath(p) != "/"}))

    def go_sdk(self, env, rule: str, name: str) -> GoSDK:
        exe = env.subst(env.get("GO", "go"))
        if exe not in self._go:
            self._go[exe] = GoSDK.find(exe, self.identities)
        sdk = self._go[exe]
        if sdk is None:
            raise RuleError(rule, name, f"the Go toolchain '{exe}' was not found",
                            "install Go (https://go.dev/dl or your distribution) and put it on PATH, or set env['GO']")
        return sdk

    def step_nodes(self, env, step: Step, sources, scan_paths=None, toolchain=None, export=None):
        """SCons nodes for `step`; its signature enters the action's, so any change in it rebuilds. Every step
        makes compile_commands.json first; one that exports compile commands (`export`, a compdb.ForeignExport)
        writes it again when done."""
        targets = step.targets()
        builder = self.builder if scan_paths is None else self.scanning_builder
        nodes = builder(env, targets, sources)
        env.Requires(nodes, self.compile_commands.node(env, self.build_dir(env)))
        if export is not None:
            self.compile_commands.add_foreign(self.build_dir(env), export)
        self.steps.append(step)
        for node in nodes:
            node.attributes.sconsrules_step = step
            node.attributes.sconsrules_scan_paths = tuple(scan_paths or ())
            node.attributes.sconsrules_toolchain = toolchain
            node.attributes.sconsrules_exports = export is not None
        self.rebuild_if_modified(env, nodes, *_outputs(step, nodes))
        return nodes
