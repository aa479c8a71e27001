"""StaticCLib: a static C and C++ library (rules_cc's cc_library), built in the configuration of each user.

Own includes/defines and those of deps travel to dependents through CcInfo; copts (C and C++) and cxxopts (C++
only) stay private. A library with C++ sources tells its dependents that the final link needs the C++ runtime.
"""
import os

import attrs
import SCons.Script

from ..actions import Caching, Outputs, Verification, commands, tmp_of
from ..errors import RuleError
from ..providers import CcInfo, Component
from . import attributes as declare
from .rule import Rule

C_SUFFIXES = (".c", ".s", ".S")
CXX_SUFFIXES = (".cc", ".cpp", ".cxx")

PURE = Caching(remote=True)  # compiles and archives: nothing but their inputs decides their bytes
MEMBERS_RECORD = ".members.json"  # beside the objects: what each was compiled from (execute/members.py)


@attrs.frozen
class CLibAttrs:
    name: str
    srcs: tuple = attrs.field(default=(), converter=declare.node_list)
    hdrs: tuple = attrs.field(default=(), converter=declare.node_list)
    includes: tuple = attrs.field(default=(), converter=declare.string_list("includes"))
    defines: tuple = attrs.field(default=(), converter=declare.string_list("defines"))
    copts: tuple = attrs.field(default=(), converter=declare.string_list("copts"))
    cxxopts: tuple = attrs.field(default=(), converter=declare.string_list("cxxopts"))
    deps: tuple = attrs.field(default=(), converter=declare.node_list)
    linkopts: tuple = attrs.field(default=(), converter=declare.string_list("linkopts"))
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)


def resolve_files(env, rule, name, attribute, values, suffixes=None):
    """Paths relative to the calling SConscript, as File nodes; a missing source is a read-time error."""
    nodes = []
    for value in values:
        if not isinstance(value, str) and not hasattr(value, "abspath"):
            raise RuleError(rule, name, f"{attribute} must list file paths, found {declare.shown(value)}")
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


class StaticCLib(Rule):
    kind = "StaticCLib"
    Attributes = CLibAttrs
    library = True

    def analyze(self):
        env, a = self.env, self.attrs
        self.srcs = resolve_files(env, self.kind, self.name, "srcs", a.srcs, C_SUFFIXES + CXX_SUFFIXES)
        self.hdrs = resolve_files(env, self.kind, self.name, "hdrs", a.hdrs)
        self.includes = tuple(env.Dir(i).abspath for i in a.includes)
        self.deps = self.lookup(a.deps, "deps")
        if not self.srcs:
            raise self.error("srcs is empty: a static library needs at least one .c or .cc file")
        self.cxx = any(s.name.endswith(CXX_SUFFIXES) for s in self.srcs)
        self.object_names = object_names([os.path.relpath(s.abspath, self.srcdir.abspath) for s in self.srcs])

    def realize(self, config):
        """The object and archive nodes of `config`; this library's CcInfo there."""
        a, tc, plat = self.attrs, config.toolchain, config.platform
        deps = self.providers(self.deps, config)
        visible = CcInfo.merge(CcInfo(includes=self.includes, defines=a.defines, headers=self.hdrs), deps)
        outdir = self.outdir(config)
        image = list(tc.sources())
        policy = self.policy(plat)
        inputs = list(visible.headers) + list(visible.flag_files) + image
        flags = (list(tc.default_copts(plat)) + [f"-D{d}" for d in visible.defines]
                 + [f"-I{i}" for i in visible.includes] + list(visible.flag_args()) + list(a.copts)
                 + self.ctx.prefix_map_flags(self.env, tc))
        cxx = tc.cxx(plat) if self.cxx else None
        if self.cxx and cxx is None:
            raise self.error(f"[{config}] {tc.cxx_missing()}", "build C++ with toolchain='zig' (or a container image)")
        members, objects, scan_paths = [], [], []
        for src, rel in zip(self.srcs, self.object_names):
            obj = os.path.join(outdir, "_objs", self.name, rel)
            compiler, own = (cxx, flags + list(a.cxxopts)) if src.name.endswith(CXX_SUFFIXES) else (tc.cc(plat), flags)
            self.ctx.compile_commands.add(self.env, self.ctx.build_dir(self.env), src.abspath,
                                          commands.cc_compile(compiler, src.abspath, obj, own).argv, obj)
            members.append((src.path, src.abspath, obj, commands.cc_compile(compiler, src.abspath, tmp_of(obj), own)))
            objects.append(obj)
            scan_paths += [p for p in visible.scan_paths(src.dir.abspath) if p not in scan_paths]
        archive = os.path.join(outdir, f"lib{self.name}.a")
        record = os.path.join(outdir, "_objs", self.name, MEMBERS_RECORD)
        build = commands.library_build(members, commands.ar_archive(tc.ar(plat), tmp_of(archive), objects), record,
                                       config.toolchain_identity, config.dirname,
                                       [f.abspath for f in list(visible.flag_files) + image])
        step = self.step(config, "archive", [build], Outputs(archive), Verification(policy), caching=PURE)
        node = self.nodes(step, list(self.srcs) + inputs, config, scan_paths=scan_paths, provides=True)[0]
        if SCons.Script.GetOption("clean"):
            self.env.Clean(node, os.path.dirname(record))  # the members go with their archive
        own = CcInfo(includes=self.includes, defines=a.defines, headers=self.hdrs, archives=(node,),
                     linkopts=(a.linkopts,) if a.linkopts else (), cxx=self.cxx,
                     components=(Component(self.kind, self.name, files=tuple(f.abspath for f in self.srcs + self.hdrs)),))
        return CcInfo.merge(own, deps)
