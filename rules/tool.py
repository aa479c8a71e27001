"""The SCons tool `sconsrules`: the rules as pseudo-builders, and the command-line options.

    env = Environment(tools=["default", "sconsrules"])
    env.StaticCLib(...); env.GoCgoBinary(...)
"""
import atexit
import importlib.util
import os
import shutil
import sys
import traceback

import SCons.Node
import SCons.Script

from . import collector, launch, summary
from .actions.commands import KEPT_LISTING_SUFFIX
from .configure.platform import SUPPORTED, Platform
from .configure.toolchains import NAMES
from .context import Context
from .errors import RuleError

# Each rule's module loads when an SConscript first calls it: a build pays only for the rules it uses.
RULES = {"StaticCLib": "clib", "GoCgoBinary": "gobinary", "ForeignCLib": "foreign", "PkgConfigCLib": "pkgconfig",
         "SourceArchive": "sources", "ScratchImage": "images", "Release": "release"}
OPTIONS = (
    ("--platforms", dict(dest="sconsrules_platforms", metavar="LIST", default=None,
                         help="sconsrules: platforms to build, comma-separated, e.g. linux/amd64,linux/arm64")),
    ("--toolchain", dict(dest="sconsrules_toolchain", metavar="NAME", default=None,
                         help=f"sconsrules: default C toolchain ({', '.join(NAMES)})")),
    ("--distdir", dict(dest="sconsrules_distdir", metavar="DIR", action="append", default=[],
                       help="sconsrules: a directory of pre-fetched SourceArchive files, found by sha256 or file name "
                            "before any URL is tried (repeatable; also $SCONSRULES_DISTDIR)")),
    ("--subcommands", dict(dest="sconsrules_subcommands", action="store_true", default=False,
                           help="sconsrules: print every command a step runs, with its environment, ready to paste "
                                "into a shell (like Bazel's --subcommands)")),
    ("--run", dict(dest="sconsrules_run", metavar="NAME", default=None,
                   help="sconsrules: build the GoCgoBinary NAME, then run it (the host's platform, else the one "
                        "--platforms selects; foreign ones under qemu-user)")),
    ("--run-args", dict(dest="sconsrules_run_args", metavar="ARGS", default=None,
                        help="sconsrules: the arguments for --run, as one shell-quoted string")),
    ("--remote-cache", dict(dest="sconsrules_remote_cache", metavar="URL", default=None,
                            help="sconsrules: a Remote Execution API cache, grpc://HOST:PORT or grpcs://HOST:PORT, "
                                 "for the outputs shared between checkouts (also $SCONSRULES_REMOTE_CACHE)")),
    ("--no-remote-cache", dict(dest="sconsrules_no_remote_cache", action="store_true", default=False,
                               help="sconsrules: ignore a remote cache set in the environment")),
    ("--remote-upload", dict(dest="sconsrules_remote_upload", metavar="BOOL", default=None,
                             help="sconsrules: false for a read-only client (also $SCONSRULES_REMOTE_UPLOAD)")),
    ("--remote-instance", dict(dest="sconsrules_remote_instance", metavar="NAME", default=None,
                               help="sconsrules: the REAPI instance name (also $SCONSRULES_REMOTE_INSTANCE)")),
    ("--remote-header", dict(dest="sconsrules_remote_header", metavar="NAME=VALUE", action="append", default=[],
                             help="sconsrules: a header sent with every call, e.g. authorization=@token-file; VALUE "
                                  "may be @FILE or $VAR (repeatable; also $SCONSRULES_REMOTE_HEADER)")),
    ("--remote-timeout", dict(dest="sconsrules_remote_timeout", metavar="SECONDS", default=None,
                              help="sconsrules: the deadline of one remote call (default 10; also "
                                   "$SCONSRULES_REMOTE_TIMEOUT)")),
    ("--stamp", dict(dest="sconsrules_stamp", action="store_true", default=False,
                     help="sconsrules: fill {GIT_COMMIT}, {GIT_COMMIT_TIME} and {GIT_DESCRIBE} in x_defs from this "
                          "checkout (without it, x_defs that name them are left out: nothing varies)")),
    ("--no-wait", dict(dest="sconsrules_no_wait", action="store_true", default=False,
                       help="sconsrules: stop at once when another scons holds the build directory, instead of "
                            "waiting for it")),
)


def _add_options(ctx):
    """Once per run (SCons's option parser is the run's; a second Environment finds them there)."""
    parser = getattr(SCons.Script.Main, "OptionsParser", None)
    if parser is not None and hasattr(parser, "has_option") and parser.has_option(OPTIONS[0][0]):
        return
    for flag, kwargs in OPTIONS:
        SCons.Script.AddOption(flag, **kwargs)
    atexit.register(summary.print_summary, ctx)


def _caller():
    """The SConscript line that called the rule (SCons would name this module instead)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(here) and f"{os.sep}SCons{os.sep}" not in frame.filename:
            return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}'
    return ""


def _user_errors(fn):
    """A RuleError ends the read like SCons's UserError: one line and the caller's location, no traceback."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuleError as exc:
            sys.stderr.write(f"\nscons: *** {exc.line()}\n{_caller()}\n")
            sys.exit(2)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _help_targets(ctx, target):
    """`scons -h` lists the declared targets after the options: name, rule, and what each is built for. The
    table is rewritten at each declaration (a library's platforms grow with its dependents)."""
    if not SCons.Script.GetOption("help"):
        return
    ctx.help_targets.append(target)
    rows = []
    for t in ctx.help_targets:
        configs = [c for c, _ in ctx.registry.realizations(t)]
        platforms = " ".join(dict.fromkeys(str(c.platform) for c in configs))
        toolchains = ", ".join(dict.fromkeys(c.toolchain.name for c in configs))
        rows.append(f"  {t.name:<24} {t.kind:<14} {platforms}{f' ({toolchains})' if toolchains else ''}\n")
    table = "\nsconsrules targets (`scons NAME` builds one; --platforms narrows the platforms):\n" + "".join(rows)
    current = SCons.Script.help_text
    if current is not None and ctx.help_table and current.endswith(ctx.help_table):
        SCons.Script.help_text = current[:-len(ctx.help_table)] + table
    else:
        SCons.Script.HelpFunction(table, append=True)
    ctx.help_table = table


def _clean_every_configuration(ctx, env, target, returned):
    """`scons -c` removes every configuration a target was ever built in, not only those this run declares (a
    musl-gcc tree left by an earlier --toolchain), and `scons -c` of everything removes the build directory."""
    if not SCons.Script.GetOption("clean"):
        return
    build = ctx.build_dir(env)
    if build not in ctx.cleaned_dirs:
        ctx.cleaned_dirs.add(build)
        env.Clean(env.Dir("#"), env.Dir(build))
    configs = [d for d in (os.listdir(build) if os.path.isdir(build) else ()) if not d.startswith(("_", "."))]
    others = []
    for node in returned:
        rel = os.path.relpath(node.abspath, build).split(os.sep, 1)
        if len(rel) != 2:
            continue
        for config in configs:
            path = os.path.join(build, config, rel[1])
            kept = (path, path + ".verify.json", path + ".log", path + ".deps.o", path + ".deps.o" + KEPT_LISTING_SUFFIX,
                    os.path.join(os.path.dirname(path), "_objs", target.name))  # a StaticCLib's members
            others += [p for p in kept if os.path.lexists(p)]
    if others:
        env.Clean(env.Alias(target.name)[0], others)


def _pseudo_builder(kind, module):
    def method(env, name=None, /, *args, **kwargs):
        if name is None and "name" in kwargs:
            name = kwargs.pop("name")
        rule = getattr(importlib.import_module(f"{__package__}.declare.{module}"), kind)
        ctx = Context.of(env)
        target = rule.declare(ctx, env, name, args, kwargs, _caller())
        returned = target.returned()
        _help_targets(ctx, target)
        _clean_every_configuration(ctx, env, target, returned)
        launch.declared(ctx, env, target)
        return returned

    method.__doc__ = f"The {kind} rule (README: Rule reference)."
    return _user_errors(method)


@_user_errors
def _container_toolchain(env, **kwargs):
    """A toolchain inside a container image: image= (on this engine) or dockerfile= (built, tracked)."""
    from .declare.images import container_toolchain
    return container_toolchain(Context.of(env), env, **kwargs)


def _check_signature_database(ctx, env):
    """A .sconsign SCons cannot parse would fail every build with a bare ValueError: set it aside once, say so,
    and let this build start from no stored signatures (every step runs once; outputs are verified as always)."""
    import SCons.SConsign
    import SCons.dblite

    if ctx.signature_database_checked or SCons.SConsign.DB_Module is not SCons.dblite:
        return
    ctx.signature_database_checked = True
    base = os.path.join(env.Dir("#").abspath, SCons.SConsign.DB_Name or SCons.SConsign.current_sconsign_filename())
    path = base if base.endswith(SCons.dblite.DBLITE_SUFFIX) else base + SCons.dblite.DBLITE_SUFFIX
    if not os.path.exists(path):
        return
    try:
        SCons.dblite.open(base, "r")
    except Exception as exc:  # dblite raises whatever pickle met: ValueError, EOFError, UnpicklingError...
        aside = path + ".unreadable"
        os.replace(path, aside)
        sys.stdout.write(f"sconsrules: warning: {os.path.basename(path)} could not be read ({type(exc).__name__}: "
                         f"{exc}); set aside as {os.path.basename(aside)}: every step runs once\n")


def _check_options(ctx):
    """Command-line values are checked once, before any rule reads them, so that a wrong one blames the option
    (not the first rule that happened to use it)."""
    if ctx.options_checked:
        return
    ctx.options_checked = True
    platforms = ctx.options.get("platforms")
    problem = None
    for text in (platforms or "").split(","):
        try:
            if text.strip():
                Platform.parse(text)
        except ValueError as exc:
            problem = RuleError(f"--platforms={platforms}", None, str(exc),
                                f"a comma-separated list of {', '.join(SUPPORTED)}")
            break
    if platforms is not None and not platforms.strip(","):
        problem = RuleError("--platforms=", None, "names no platform", "e.g. --platforms=linux/arm64")
    toolchain = ctx.options.get("toolchain")
    if problem is None and toolchain is not None and toolchain not in NAMES:
        problem = RuleError(f"--toolchain={toolchain}", None, "unknown toolchain", f"use one of {', '.join(NAMES)}")
    if problem is None:
        problem = _remote_problem(ctx)
    if problem is not None:
        sys.stderr.write(f"\nscons: *** {problem.line()}\n")
        sys.exit(2)


def _remote_problem(ctx):
    from .execute import remote
    try:
        settings = remote.settings_from(ctx.options.get, os.environ)
    except ValueError as exc:
        return RuleError("--remote-cache", None, str(exc))
    if settings is not None and importlib.util.find_spec("buildgrid") is None:
        return RuleError(f"--remote-cache={settings.url}", None, "the REAPI client needs gRPC and the published protos",
                         "pip install 'sconsrules[remote]'")
    return None


def _dry_run_decider(env):
    """`scons -n` lists every step that would run. SCons decides a dependent from its inputs' contents, which a
    dry run never changes, so after a .c edit it showed the compile and not the archive and link behind it. In a
    dry run, an input whose step would run counts as changed."""
    if not SCons.Script.GetOption("no_exec") or getattr(env, "_sconsrules_dry_run", False):
        return
    original = env.decide_target

    def decide_target(dependency, target, prev_ni, repo_node=None):
        if dependency.get_state() == SCons.Node.executed:
            return True
        return original(dependency, target, prev_ni, repo_node)

    env.decide_target = decide_target
    env._sconsrules_dry_run = True


def generate(env, context=None):
    """Add the rules to `env`. `context`: the run's state, when a test makes its own (else the run's)."""
    if context is not None:
        context.install(env)
    collector.pause()
    ctx = Context.of(env)
    _add_options(ctx)
    _check_options(ctx)
    ctx.progress.install()
    launch.install(ctx, env)
    _dry_run_decider(env)
    _check_signature_database(ctx, env)
    env.SetDefault(SCONSRULES_PLATFORMS=None, SCONSRULES_TOOLCHAIN="auto", SCONSRULES_BUILD_DIR="#build",
                   SCONSRULES_VERIFY={}, GO="go")
    for kind, module in RULES.items():
        env.AddMethod(_pseudo_builder(kind, module), kind)
    env.AddMethod(_container_toolchain, "ContainerToolchain")


def exists(env):
    """The rules can work here: their Python dependencies import, and a C toolchain is at hand (zig from
    PyPI, musl-gcc, or a Docker engine for container toolchains)."""
    if not all(importlib.util.find_spec(m) for m in ("attrs", "elftools")):
        return False
    return bool(importlib.util.find_spec("ziglang") or shutil.which("musl-gcc") or shutil.which("docker")
                or os.path.exists("/var/run/docker.sock"))
