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

from . import declare, images, sources, summary, toolchains
from .execute.container import client_or_error
from .clib import CLibAttrs, StaticCLib
from .config import Configuration
from .context import CONTEXT
from .errors import RuleError
from .foreign import ForeignAttrs, ForeignCLib
from .gobinary import GoBinaryAttrs, GoCgoBinary
from .pkgconfig import PkgConfigAttrs, PkgConfigCLib
from .platform import Platform
from .toolchains.container import ContainerToolchain, lookup_image, platforms_for, sanitize, split_command

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
    SCons.Script.AddOption("--distdir", dest="sconsrules_distdir", metavar="DIR", action="append", default=[],
                           help="sconsrules: a directory of pre-fetched SourceArchive files, found by sha256 or "
                                "file name before any URL is tried (repeatable; also $SCONSRULES_DISTDIR)")
    SCons.Script.AddOption("--no-wait", dest="sconsrules_no_wait", action="store_true", default=False,
                           help="sconsrules: stop at once when another scons holds the build directory, "
                                "instead of waiting for it")
    atexit.register(summary.print_summary, CONTEXT)


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


def _claim(env, rule, attributes):
    CONTEXT.registry.claim(env.Dir(".").abspath, attributes.name, rule, _caller())
    return attributes


@_user_errors
def static_c_lib(env, /, name, **kwargs):
    """Declare a static C library; returns its archive for the environment's default platforms."""
    target = StaticCLib(CONTEXT, env, _claim(env, "StaticCLib", declare.build(CLibAttrs, "StaticCLib", name, kwargs)))
    CONTEXT.registry.add(target)
    return _default_archives(env, "StaticCLib", name, target)


@_user_errors
def go_cgo_binary(env, /, name, **kwargs):
    """Declare a static cgo binary; returns one node per platform."""
    attributes = _claim(env, "GoCgoBinary", declare.build(GoBinaryAttrs, "GoCgoBinary", name, kwargs))
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


@_user_errors
def container_toolchain(env, image=None, dockerfile=None, context=None, cc="gcc", cxx="g++", ar="ar", go="go",
                        platforms=None, name=None):
    """A toolchain inside a container image (named, or built from a Dockerfile the build tracks)."""
    rule = "ContainerToolchain"
    label = image or dockerfile or "?"
    if (image is None) == (dockerfile is None):
        raise RuleError(rule, label, "give exactly one of image= or dockerfile=")
    try:
        commands = dict(cc_command=split_command(cc, "cc"), cxx_command=split_command(cxx, "cxx"),
                        ar_command=split_command(ar, "ar"), go_command=split_command(go, "go")[0])
        declared = _parse_platforms(rule, label, platforms, "platforms") if platforms else None
    except ValueError as exc:
        raise RuleError(rule, label, str(exc)) from None
    if image is not None:
        if not isinstance(image, str) or not image:
            raise RuleError(rule, label, "image must be an image reference such as 'builder:tag'")
        image_id, arch = lookup_image(client_or_error(rule, image), image, rule, image)
        tc_name = name or "ctr-" + sanitize(image)
        return ContainerToolchain(name=tc_name, display=image, platforms=platforms_for(arch, declared), image=image,
                                  resolved_id=image_id, **commands)
    dockerfile_node = env.File(dockerfile)
    context_dir = env.Dir(context) if context else dockerfile_node.dir
    if not dockerfile_node.exists():
        raise RuleError(rule, dockerfile, f"Dockerfile not found: {dockerfile_node.path}")
    if not os.path.isdir(context_dir.abspath):
        raise RuleError(rule, dockerfile, f"context directory not found: {context_dir.path}")
    rel = os.path.relpath(dockerfile_node.abspath, env.Dir("#").abspath)
    tc_name = name or "ctr-" + sanitize(os.path.dirname(rel) or "dockerfile")
    tag = f"sconsrules/{tc_name.lower()}:latest"
    out = os.path.join(CONTEXT.build_dir(env), "images", tc_name + ".id")
    files = sorted(set(images.context_files(context_dir.abspath)) | {dockerfile_node.abspath})
    node = images.image_node(env, images.DOCKERFILE_BUILDER, out, files,
                             {"rule": rule, "label": rel, "tag": tag, "dockerfile": dockerfile_node.abspath,
                              "context": context_dir.abspath})
    return ContainerToolchain(name=tc_name, display=rel, platforms=platforms_for(None, declared), image_id_file=out,
                              image_node=node, **commands)


@_user_errors
def scratch_image(env, tag, binary, ca_certs=False, args=()):
    """A `FROM scratch` image holding only the verified static binary (and CA certificates when asked)."""
    rule = "ScratchImage"
    nodes = env.Flatten([binary])
    if len(nodes) != 1:
        raise RuleError(rule, tag, f"needs exactly one binary (one platform), got {len(nodes)}",
                        "pass one element of what GoCgoBinary returned, e.g. app[0]")
    node = nodes[0]
    step = getattr(node.attributes, "sconsrules_step", None)
    if step is None or step.rule != "GoCgoBinary":
        raise RuleError(rule, tag, "binary must be a node returned by GoCgoBinary")
    if not isinstance(ca_certs, bool):
        raise RuleError(rule, tag, f"ca_certs must be True or False, not {ca_certs!r}")
    if ca_certs and not os.path.exists(images.CA_BUNDLE):
        raise RuleError(rule, tag, f"ca_certs=True needs {images.CA_BUNDLE} on this machine",
                        "install ca-certificates")
    out = os.path.join(CONTEXT.build_dir(env), "images", sanitize(tag) + ".id")
    platform = str(step.policy.platform)
    spec = {"rule": rule, "tag": tag, "binary": node.abspath, "ca_certs": ca_certs, "args": list(args),
            "platform": platform}
    sources = [node] + ([env.File(images.CA_BUNDLE)] if ca_certs else [])
    result = images.image_node(env, images.SCRATCH_BUILDER, out, sources, spec)
    env.Alias(tag, result)
    return result


@_user_errors
def source_archive(env, /, name, urls=(), sha256="", strip_prefix="", max_bytes=None, max_entries=None,
                   max_ratio=None):
    """Third-party sources: fetched once into a sha256-addressed store, verified, unpacked safely."""
    return sources.declare_archive(env, name, urls, sha256, strip_prefix, max_bytes, max_entries, max_ratio)


def _source_tree(env, name, source):
    """(directory, nodes the build depends on) for a SourceArchive or a local source directory."""
    if source is None:
        raise RuleError("ForeignCLib", name, "source is required: a SourceArchive or a directory")
    nodes = env.Flatten([source])
    if len(nodes) == 1 and hasattr(getattr(nodes[0], "attributes", None), "sconsrules_source_dir"):
        return nodes[0].attributes.sconsrules_source_dir, [nodes[0]]
    path = nodes[0].abspath if len(nodes) == 1 and hasattr(nodes[0], "abspath") else None
    if path is None and isinstance(source, str):
        path = env.Dir(source).abspath
    if not path or not os.path.isdir(path):
        raise RuleError("ForeignCLib", name, f"source {declare.describe(source)} is neither a SourceArchive nor an "
                        "existing directory", "paths are relative to the SConscript that declares the target")
    return path, [env.File(f) for f in images.context_files(path)]


@_user_errors
def foreign_c_lib(env, /, name, **kwargs):
    """Declare a third-party C library built by its own build system; returns its archives (default platforms)."""
    attributes = _claim(env, "ForeignCLib", declare.build(ForeignAttrs, "ForeignCLib", name, kwargs))
    target = ForeignCLib(CONTEXT, env, attributes, _source_tree(env, name, attributes.source))
    CONTEXT.registry.add(target)
    return _default_archives(env, "ForeignCLib", name, target)


@_user_errors
def pkg_config_c_lib(env, /, name, **kwargs):
    """Declare a library installed where the toolchain runs, found with `pkg-config --static` at build time."""
    attributes = _claim(env, "PkgConfigCLib", declare.build(PkgConfigAttrs, "PkgConfigCLib", name, kwargs))
    target = PkgConfigCLib(CONTEXT, env, attributes)
    CONTEXT.registry.add(target)
    return _default_archives(env, "PkgConfigCLib", name, target)


def _default_archives(env, rule, name, target):
    platforms, _ = _selected_platforms(env, rule, name)
    nodes = []
    for config in _configs(env, rule, name, platforms, _toolchain_name(env, None)):
        info = CONTEXT.registry.realize(target, config)
        nodes += [a for a in info.archives if getattr(a.attributes, "sconsrules_target", None) is target]
    env.Alias(name, nodes)
    return SCons.Node.NodeList(nodes)


def _check_signature_database(env):
    """A .sconsign SCons cannot parse would fail every build with a bare ValueError: set it aside once, say so,
    and let this build start from no stored signatures (every step runs once; outputs are verified as always)."""
    import SCons.SConsign
    import SCons.dblite

    if CONTEXT.signature_database_checked or SCons.SConsign.DB_Module is not SCons.dblite:
        return
    CONTEXT.signature_database_checked = True
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


def generate(env):
    _add_options()
    _check_signature_database(env)
    env.SetDefault(SCONSRULES_PLATFORMS=None, SCONSRULES_TOOLCHAIN="auto", SCONSRULES_BUILD_DIR="#build",
                   SCONSRULES_VERIFY={}, GO="go")
    env.AddMethod(static_c_lib, "StaticCLib")
    env.AddMethod(go_cgo_binary, "GoCgoBinary")
    env.AddMethod(container_toolchain, "ContainerToolchain")
    env.AddMethod(scratch_image, "ScratchImage")
    env.AddMethod(source_archive, "SourceArchive")
    env.AddMethod(foreign_c_lib, "ForeignCLib")
    env.AddMethod(pkg_config_c_lib, "PkgConfigCLib")


def exists(env):
    return True
