"""ForeignCLib: a third-party C library built by its own build system (configure-make, cmake, make), static
only, with the configuration's toolchain, into a per-configuration prefix; a provider like StaticCLib.

The build runs in a scratch copy of the source (the unpacked store stays pristine) and installs with
DESTDIR into the step's temporary directory under a fixed runtime prefix (/usr/local by default), so no
build-machine path is compiled into the library (OpenSSL compiles OPENSSLDIR, ENGINESDIR and MODULESDIR into libcrypto). The
declared outputs are then verified as musl archives of the right machine before they take their place.
"""
import hashlib
import os
from typing import Optional

import attrs

from ..actions import Caching, Outputs, Verification, commands, tmp_of
from ..compdb import ForeignExport
from ..providers import CcInfo, Component
from . import attributes as declare
from .images import context_files
from .rule import Rule

BUILDS = ("configure-make", "cmake", "make")


def _build_kind(inst, attribute, value):
    if value not in BUILDS:
        raise declare.AttributeError_(f"build must be one of {', '.join(BUILDS)}, not {declare.describe(value)}")


def _outputs(value):
    items = declare.string_list("outputs")(value)
    if not items:
        raise declare.AttributeError_("outputs must name at least one archive, e.g. ['lib/libz.a']")
    for item in items:
        if os.path.isabs(item) or ".." in item.split("/") or not item.endswith(".a"):
            raise declare.AttributeError_(f"outputs: {item!r} must be a relative path to a static archive (.a)")
    return items


def _install_prefix(inst, attribute, value):
    if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/") or "//" in value \
            or any(c.isspace() or ord(c) < 32 for c in value):
        raise declare.AttributeError_(f"install_prefix must be an absolute path such as '/usr/local', without '..', "
                                      f"not {declare.describe(value)}")


def _text(inst, attribute, value):
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise declare.AttributeError_(f"{attribute.name} must be a non-empty string, not {declare.describe(value)}")


@attrs.frozen
class ForeignAttrs:
    name: str
    source: object = None
    build: str = attrs.field(default="configure-make", validator=_build_kind)
    configure_command: str = "./configure"
    configure_args: tuple = attrs.field(default=(), converter=declare.string_list("configure_args", True))
    make_args: tuple = attrs.field(default=(), converter=declare.string_list("make_args"))
    make_targets: tuple = attrs.field(default=(), converter=declare.string_list("make_targets"))
    install_targets: tuple = attrs.field(default=("install",), converter=declare.string_list("install_targets"))
    outputs: tuple = attrs.field(default=(), converter=_outputs)
    includes: tuple = attrs.field(default=("include",), converter=declare.string_list("includes"))
    defines: tuple = attrs.field(default=(), converter=declare.string_list("defines"))
    deps: tuple = attrs.field(default=(), converter=declare.node_list)
    linkopts: tuple = attrs.field(default=(), converter=declare.string_list("linkopts"))
    env: tuple = attrs.field(default=None, converter=declare.string_dict("env"))
    install_prefix: str = attrs.field(default="/usr/local", validator=_install_prefix)
    cxx: bool = attrs.field(default=False, converter=declare.boolean("cxx"))  # a C++ library: links need its runtime
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)
    version: Optional[str] = attrs.field(default=None, validator=_text)  # recorded in dependency manifests
    license: Optional[str] = attrs.field(default=None, validator=_text)  # an SPDX expression, e.g. "Apache-2.0"


class ForeignCLib(Rule):
    kind = "ForeignCLib"
    Attributes = ForeignAttrs
    library = True

    def analyze(self):
        self.source_dir, self.source_nodes = self._source_tree(self.attrs.source)
        self.deps = self.lookup(self.attrs.deps, "deps")

    def _source_tree(self, source):
        """(directory, nodes the build depends on) for a SourceArchive or a local source directory."""
        if source is None:
            raise self.error("source is required: a SourceArchive or a directory")
        nodes = self.env.Flatten([source])
        if len(nodes) == 1 and hasattr(getattr(nodes[0], "attributes", None), "sconsrules_source_dir"):
            return nodes[0].attributes.sconsrules_source_dir, [nodes[0]]
        path = nodes[0].abspath if len(nodes) == 1 and hasattr(nodes[0], "abspath") else None
        if path is None and isinstance(source, str):
            path = self.env.Dir(source).abspath
        if not path or not os.path.isdir(path):
            raise self.error(f"source {declare.describe(source)} is neither a SourceArchive nor an existing directory",
                             "paths are relative to the SConscript that declares the target")
        return path, [self.env.File(f) for f in context_files(path)]

    def realize(self, config):
        a, tc, plat = self.attrs, config.toolchain, config.platform
        deps = self.providers(self.deps, config)
        seen = CcInfo.merge(CcInfo(), deps)
        base = os.path.join(self.outdir(config), "_foreign")
        out = os.path.join(base, self.name)
        work = os.path.join(base, self.name + ".work")
        prefix = a.install_prefix.strip("/")
        # Build systems record CC and CFLAGS in what they build (OpenSSL's `openssl version -f`): the paths
        # of this machine go into the cc wrapper, and CC, CFLAGS and CPPFLAGS stay path-free.
        # The project (a dependency's include dir) and zig's headers by fixed names; the work dir, inside the
        # project, is mapped last: clang applies the last matching map, as GCC does.
        cc_extra = (self.ctx.prefix_map_flags(self.env, tc) + [f"-ffile-prefix-map={work}=."]
                    + [f"-I{i}" for i in seen.includes] + list(seen.flag_args()))
        cflags = list(tc.default_copts(plat)) + [f"-D{d}" for d in a.defines]
        env = {"CC": "cc", "CXX": "c++", "AR": "ar", "RANLIB": "ranlib", "CFLAGS": " ".join(cflags),
               "CXXFLAGS": " ".join(cflags),
               "LDFLAGS": " ".join(sorted({f"-L{os.path.dirname(x.abspath)}" for x in seen.archive_files})),
               "SOURCE_DATE_EPOCH": "0", **dict(a.env)}
        args = self.fill(a.configure_args, plat, "configure_args")
        tools = {"cc": tc.cc(plat) + cc_extra, "ar": tc.ar(plat), "ranlib": tc.ranlib(plat)}
        cxx = tc.cxx(plat)
        tools["c++"] = cxx + cc_extra if cxx else commands.missing_compiler(f"[{config}] {tc.cxx_missing()}")
        build = commands.foreign_build(
            a.build, self.source_dir, work, tmp_of(out), tools,
            configure=[a.configure_command, f"--prefix={a.install_prefix}"] + args, cmake_args=args,
            make=["make"] + list(a.make_args), make_targets=a.make_targets, install_targets=a.install_targets,
            prefix=a.install_prefix, env=env, cross_triple=None if plat.is_host() else plat.zig_target,
            roots=seen.install_roots, link_extra=tc.libc_variant_flags(True))
        members = tuple(os.path.join(prefix, o) for o in a.outputs)
        step = self.step(config, f"{a.build} build", [build], Outputs(out, kind="tree", members=members),
                         Verification(self.policy(plat)),
                         passenv=dict(tc.env(plat), MAKEFLAGS=f"-j{os.cpu_count() or 1}"),  # -j: not in signatures
                         mounts=(self.source_dir,), quiet=True, caching=Caching(shared=True, remote=True), scratch=(work,))
        sources = (list(self.source_nodes) + list(seen.archives) + list(seen.headers) + list(seen.flag_files)
                   + list(tc.sources()))
        export = None
        if a.build == "cmake":
            export = ForeignExport(out, self.source_dir, {k: list(v) for k, v in tools.items()
                                                          if k in ("cc", "c++") and isinstance(v, list)})
        nodes = self.nodes(step, sources, config, provides=True, export=export)
        self.ctx.registry.links.append((nodes[0], config, True, False))  # configure's probes link
        # The installed headers are not declared one by one: the install's archives stand for them, so that
        # dependents compile after the install and again when it changes.
        includes = tuple(os.path.join(out, prefix, i) for i in a.includes)
        own = CcInfo(includes=includes, defines=a.defines, headers=tuple(nodes), archives=tuple(nodes),
                     linkopts=(a.linkopts,) if a.linkopts else (), generated_includes=includes, install_roots=(out,),
                     cxx=a.cxx)
        own = attrs.evolve(own, components=(self._component(a, args),))
        return CcInfo.merge(own, deps)

    def _component(self, a, args):
        """This library in a dependency manifest: version and license as declared, the source archive's name,
        URLs and sha256 (a local source directory: its files' digest), the build system and a digest of its
        arguments."""
        facts = [("build", a.build), ("args_sha256", hashlib.sha256(repr(
            (a.configure_command, tuple(args), a.make_args, a.make_targets, a.install_targets, a.env)).encode()).hexdigest())]
        facts += [(k, v) for k, v in (("version", a.version), ("license", a.license)) if v]
        spec = getattr(self.source_nodes[0].attributes, "sconsrules_source_spec", None) if self.source_nodes else None
        if spec is not None:
            facts += [("source", spec.name), ("source_sha256", spec.sha256), ("source_urls", tuple(spec.urls))]
            return Component(self.kind, self.name, tuple(facts))
        return Component(self.kind, self.name, tuple(facts), files=tuple(n.abspath for n in self.source_nodes))
