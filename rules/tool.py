"""The SCons tool `sconsrules`: registers the rules as pseudo-builders and the command-line options.

    env = Environment(tools=["default", "sconsrules"])
    env.StaticCLib(...); env.GoCgoBinary(...)
"""
import atexit
import os
import sys
import traceback

import SCons.Node
import SCons.Script

from . import declare, summary, toolchains
from .clib import CLibAttrs, StaticCLib
from .config import Configuration
from .context import CONTEXT
from .errors import RuleError
from .gobinary import GoBinaryAttrs, GoCgoBinary
from .platform import Platform

_options_added = False


def _add_options():
    global _options_added
    if _options_added:
        return
    _options_added = True
    SCons.Script.AddOption("--platforms", dest="sconsrules_platforms", metavar="LIST", default=None,
                           help="sconsrules: platforms to build, comma-separated, e.g. linux/amd64,linux/arm64")
    SCons.Script.AddOption("--toolchain", dest="sconsrules_toolchain", metavar="NAME", default=None,
                           help=f"sconsrules: default C toolchain ({', '.join(toolchains.NAMES)})")
    atexit.register(summary.print_summary, CONTEXT.registry)


def _parse_platforms(rule, name, value, attribute):
    if isinstance(value, str):
        value = [p for p in value.split(",") if p.strip()]
    try:
        parsed = [Platform.parse(p) for p in value]
    except (TypeError, ValueError) as exc:
        raise RuleError(rule, name, f"{attribute}: {exc}", "use 'linux/amd64' or 'linux/arm64'") from None
    if not parsed:
        raise RuleError(rule, name, f"{attribute} is empty")
    return list(dict.fromkeys(parsed))


def _selected_platforms(env, rule, name):
    """--platforms if given, else env['SCONSRULES_PLATFORMS'], else the host."""
    cli = SCons.Script.GetOption("sconsrules_platforms")
    if cli:
        return _parse_platforms(rule, name, cli, "--platforms"), True
    default = env.get("SCONSRULES_PLATFORMS")
    if default:
        return _parse_platforms(rule, name, default, "SCONSRULES_PLATFORMS"), False
    return [Platform.host()], False


def _toolchain_name(env, explicit):
    if explicit is not None:
        return explicit
    return SCons.Script.GetOption("sconsrules_toolchain") or env.get("SCONSRULES_TOOLCHAIN") or "auto"


def _configs(env, rule, name, platforms, toolchain):
    return [Configuration.of(p, toolchains.resolve(toolchain, p, rule, name)) for p in platforms]


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


@_user_errors
def static_c_lib(env, name, **kwargs):
    """Declare a static C library; returns its archive for the environment's default platforms."""
    target = StaticCLib(CONTEXT, env, declare.build(CLibAttrs, "StaticCLib", name, kwargs))
    CONTEXT.registry.add(target)
    platforms, _ = _selected_platforms(env, "StaticCLib", name)
    nodes = []
    for config in _configs(env, "StaticCLib", name, platforms, _toolchain_name(env, None)):
        nodes += list(CONTEXT.registry.realize(target, config).archives[:1])
    env.Alias(name, nodes)
    return SCons.Node.NodeList(nodes)


@_user_errors
def go_cgo_binary(env, name, **kwargs):
    """Declare a static cgo binary; returns one node per platform."""
    attributes = declare.build(GoBinaryAttrs, "GoCgoBinary", name, kwargs)
    target = GoCgoBinary(CONTEXT, env, attributes)
    selected, from_cli = _selected_platforms(env, "GoCgoBinary", name)
    if attributes.platforms is not None:
        own = _parse_platforms("GoCgoBinary", name, attributes.platforms, "platforms")
        # --platforms selects among what a target declares (Bazel's target_compatible_with).
        platforms = [p for p in own if p in selected] if from_cli else own
    else:
        platforms = selected
    configs = _configs(env, "GoCgoBinary", name, platforms, _toolchain_name(env, attributes.toolchain))
    nodes = SCons.Node.NodeList(CONTEXT.registry.realize(target, c) for c in configs)
    env.Alias(name, nodes)
    return nodes


def generate(env):
    _add_options()
    env.SetDefault(SCONSRULES_PLATFORMS=None, SCONSRULES_TOOLCHAIN="auto", SCONSRULES_BUILD_DIR="#build",
                   SCONSRULES_VERIFY={}, GO="go")
    env.AddMethod(static_c_lib, "StaticCLib")
    env.AddMethod(go_cgo_binary, "GoCgoBinary")


def exists(env):
    return True
