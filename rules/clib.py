"""StaticCLib: a static C library (rules_cc's cc_library), built in the configuration of each user.

Own includes/defines and those of deps travel to dependents through CcInfo; copts stay private.
"""
import os

import attrs

from . import declare
from .actions import Command, Step, tmp_of
from .errors import RuleError
from .providers import CcInfo
from .verify import Policy

RULE = "StaticCLib"


@attrs.frozen
class CLibAttrs:
    name: str
    srcs: tuple = attrs.field(default=(), converter=declare.node_list)
    hdrs: tuple = attrs.field(default=(), converter=declare.node_list)
    includes: tuple = attrs.field(default=(), converter=declare.string_list("includes"))
    defines: tuple = attrs.field(default=(), converter=declare.string_list("defines"))
    copts: tuple = attrs.field(default=(), converter=declare.string_list("copts"))
    deps: tuple = attrs.field(default=(), converter=declare.node_list)
    linkopts: tuple = attrs.field(default=(), converter=declare.string_list("linkopts"))
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)


def resolve_files(env, rule, name, attribute, values, suffixes=None):
    """Paths relative to the calling SConscript, as File nodes; a missing source is a read-time error."""
    nodes = []
    for value in values:
        if not isinstance(value, str) and not hasattr(value, "abspath"):
            raise RuleError(rule, name, f"{attribute} must list file paths, found {type(value).__name__} {value!r}")
        node = env.File(value)
        if not node.exists() and not node.has_builder():
            raise RuleError(rule, name, f"{attribute}: file not found: {node.path}",
                            "paths are relative to the SConscript that declares the target")
        if suffixes and not node.name.endswith(suffixes):
            raise RuleError(rule, name, f"{attribute}: {node.path} is not a {'/'.join(suffixes)} file")
        nodes.append(node)
    return tuple(nodes)


def object_names(sources):
    """Object paths for sources (relative to the SConscript): `a.o` for `a.c`, or `a.c.o` and `a.S.o` when two
    sources share a stem, so that no two compiles write one object."""
    stems = [os.path.splitext(rel.replace("..", "__"))[0] for rel in sources]
    return [(stem if stems.count(stem) == 1 else rel.replace("..", "__")) + ".o" for stem, rel in zip(stems, sources)]


class StaticCLib:
    def __init__(self, ctx, env, attributes):
        self.ctx = ctx
        self.env = env
        self.attrs = attributes
        name = attributes.name
        self.srcdir = env.Dir(".")
        self.srcs = resolve_files(env, RULE, name, "srcs", attributes.srcs, (".c", ".s", ".S"))
        self.hdrs = resolve_files(env, RULE, name, "hdrs", attributes.hdrs)
        self.includes = tuple(env.Dir(i).abspath for i in attributes.includes)
        self.deps = tuple(ctx.registry.lookup(d, RULE, name, "deps") for d in attributes.deps)
        if not self.srcs:
            raise RuleError(RULE, name, "srcs is empty: a static library needs at least one .c file")
        self.object_names = object_names([os.path.relpath(s.abspath, self.srcdir.abspath) for s in self.srcs])

    def realize(self, config):
        """Create the object and archive nodes for `config`; return this library's CcInfo there."""
        name = self.attrs.name
        deps = [self.ctx.registry.realize(d, config) for d in self.deps]
        config.toolchain.check_platform(config.platform, RULE, name)
        visible = CcInfo.merge(CcInfo(includes=self.includes, defines=self.attrs.defines, headers=self.hdrs), deps)
        outdir = self.ctx.outdir(self.env, config, self.srcdir)
        tc = config.toolchain
        policy = Policy(config.platform, relax=self.ctx.relaxations(self.env, self.attrs.verify, RULE, name))
        executor = self.ctx.executor_for(self.env, config, RULE, name)
        image = list(tc.sources())
        identities, passenv = (tc.identity(),), tuple(tc.env(config.platform).items())
        cc = tc.cc(config.platform)
        inputs = list(visible.headers) + list(visible.flag_files) + image
        flags = (list(tc.default_copts(config.platform))
                 + [f"-D{d}" for d in visible.defines]
                 + [f"-I{i}" for i in visible.includes]
                 + list(visible.flag_args())
                 + list(self.attrs.copts)
                 + self.ctx.prefix_map_flags(self.env))
        objects = []
        for src, rel in zip(self.srcs, self.object_names):
            obj = os.path.join(outdir, "_objs", name, rel)
            step = Step(RULE, name, config.dirname, f"compile {src.path}", obj,
                        (Command(cc + ["-c", src.abspath, "-o", tmp_of(obj)] + flags),),
                        policy, identities, passenv, executor=executor)
            objects += self.ctx.step_nodes(self.env, step, [src] + inputs,
                                           scan_paths=visible.scan_paths(src.dir.abspath))
        archive = os.path.join(outdir, f"lib{name}.a")
        step = Step(RULE, name, config.dirname, "archive", archive,
                    (Command(tc.ar(config.platform) + ["rcsD", tmp_of(archive)] + [o.abspath for o in objects]),),
                    policy, identities, passenv, executor=executor)
        node = self.ctx.step_nodes(self.env, step, objects + image)[0]
        node.attributes.sconsrules_target = self
        own = CcInfo(includes=self.includes, defines=self.attrs.defines, headers=self.hdrs, archives=(node,),
                     linkopts=(self.attrs.linkopts,) if self.attrs.linkopts else ())
        return CcInfo.merge(own, deps)
