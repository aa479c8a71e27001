"""GoCgoBinary: a Go package built with cgo against StaticCLib cdeps, one artifact per platform.

How the link is made static and reproducible is in actions/commands.py (go_link_flags, go_build).
"""
import hashlib
import os
import re
from typing import Optional

import attrs
import SCons.Node

from ..actions import Caching, Outputs, Verification, commands, tmp_of
from ..configure.config import target_platforms, toolchain_name
from ..configure import stamp
from ..configure.toolchains.go import module_fetch_env
from ..providers import CcInfo
from ..verify.manifest import RECORD_FORMAT
from . import attributes as declare
from .gosrc import BuildContext, GoSourceError, find_module_root, read_module
from .clib import C_SUFFIXES, CXX_SUFFIXES
from .rule import Rule

go_quote = commands.go_quote


def _x_defs(value):
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise declare.AttributeError_(f"x_defs must be a dict of 'importpath.name' to string, not {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise declare.AttributeError_(f"x_defs entries must be strings, found {declare.describe(k)}: {declare.describe(v)}")
        if not re.fullmatch(r"[^\s=]+\.[^\s=.]+", k):
            raise declare.AttributeError_(f"x_defs: {k!r} must name a variable as 'importpath.name', e.g. 'main.version'")
        try:
            go_quote(f"-X={k}={v}")
        except ValueError as exc:
            raise declare.AttributeError_(f"x_defs: {exc}") from None
    return tuple(sorted(value.items()))


@attrs.frozen
class GoBinaryAttrs:
    name: str
    package: str = attrs.field(default=".")
    module: Optional[str] = None
    cdeps: tuple = attrs.field(default=(), converter=declare.node_list)
    platforms: tuple = attrs.field(default=None)
    toolchain: object = None
    gotags: tuple = attrs.field(default=(), converter=declare.string_list("gotags"))
    x_defs: tuple = attrs.field(default=None, converter=_x_defs)
    static: bool = attrs.field(default=True, converter=declare.boolean("static"))
    strip: bool = attrs.field(default=True, converter=declare.boolean("strip"))
    # A stripped binary plus `<name>.debug` (its DWARF and symbols, found by gdb through .gnu_debuglink or the
    # build ID), both reproducible: execute/debuginfo.py.
    # None: the environment's SCONSRULES_SPLIT_DEBUG, applied where split debug files can be made.
    split_debug: Optional[bool] = attrs.field(default=None, converter=attrs.converters.optional(
        declare.boolean("split_debug")))
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)

    @package.validator
    def _package(self, attribute, value):
        if not isinstance(value, str) or not value:
            raise declare.AttributeError_("package must be a path relative to the module root, e.g. './cmd/app'")
        if os.path.isabs(value) or os.path.normpath(value).split(os.sep)[0] == "..":
            raise declare.AttributeError_(f"package {value!r} must stay inside the module root")

    @split_debug.validator
    def _split_debug(self, attribute, value):
        if value and not self.strip:
            raise declare.AttributeError_("split_debug ships a stripped binary beside its .debug file: drop strip=False")


class GoCgoBinary(Rule):
    kind = "GoCgoBinary"
    Attributes = GoBinaryAttrs

    def analyze(self):
        a = self.attrs
        start = self.env.Dir(a.module).abspath if a.module else self.srcdir.abspath
        root = find_module_root(start) if not a.module else start
        if not root or not os.path.isfile(os.path.join(root, "go.mod")):
            raise self.error(f"no go.mod found at or above {start}", "set module= to the directory holding go.mod")
        try:
            self.module = read_module(root)
            self.inputs = self.ctx.gosrc.package_inputs(self.module, a.package)
            clause = self.ctx.gosrc.package_name(os.path.join(root, a.package))
        except GoSourceError as exc:
            raise self.error(str(exc), "package= is relative to the module root (the go.mod directory)") from None
        if clause != "main":
            raise self.error(f"package {a.package} is not a main package (package {clause})",
                             "point package= at the directory of a `package main` with func main")
        self.cdeps = self.lookup(a.cdeps, "cdeps")
        self.own_cxx = [os.path.relpath(f, root) for f in self.inputs if f.endswith(CXX_SUFFIXES)]

    def returned(self):
        """One node per platform: the target's own platforms= narrowed by --platforms, else the selected ones."""
        platforms = target_platforms(self.env, self.ctx.options, self.kind, self.name, self.attrs.platforms)
        configs = self.configurations(platforms, toolchain_name(self.env, self.ctx.options, self.attrs.toolchain))
        nodes = SCons.Node.NodeList(self.ctx.registry.realize(self, c) for c in configs)
        self.env.Alias(self.name, nodes)
        return nodes

    def realize(self, config):
        """The binary's node in `config`."""
        a, tc, plat = self.attrs, config.toolchain, config.platform
        cc = CcInfo.merge(CcInfo(), self.providers(self.cdeps, config))
        go = tc.go_sdk() or self.ctx.go_sdk(self.env, self.kind, self.name)
        extra = list(tc.sources())
        if tc.prefetch_modules:
            extra.append(self._download_modules(config, go, extra))
        cppflags = ([f"-D{d}" for d in cc.defines] + [f"-I{i}" for i in cc.includes] + list(cc.flag_args())
                    + self.ctx.prefix_map_flags(self.env, tc)
                    # An image's system headers can change while its compiler's version (all Go asks) does not.
                    + [f"-DSCONSRULES_TOOLCHAIN={hashlib.sha256(config.toolchain_identity.encode()).hexdigest()[:16]}"])
        out = os.path.join(self.outdir(config), self.name)
        manifest_object = out + ".deps.o"
        ldflags = list(cc.link_args()) + list(cc.flat_linkopts)
        split = self._splits(config)
        # cgo's own `_cgo_.o` links read CGO_LDFLAGS, not -extldflags: they must ask for the final link's libc
        ldflags += tc.libc_variant_flags(a.strip and not split)
        cxx = tc.cxx(plat)
        hint = None
        if cc.cxx or self.own_cxx:
            if cxx is None:
                why = "its cdeps hold C++" if cc.cxx else f"it has C++ sources ({self.own_cxx[0]})"
                raise self.error(f"[{config}] {why}, and {tc.cxx_missing()}",
                                 "build C++ with toolchain='zig' (or a container image)")
            ldflags += tc.cxx_link_flags(plat)  # the C++ runtime, statically, also when Go links with the C driver
            # Go links with CXX when a package has C++ files: a glibc g++ brings glibc's start files and libc.
            hint = (f"this link used the C++ compiler `{cxx[0]}` and its {tc.cxx_runtime()}: both must target musl "
                    "(a distribution's g++ targets glibc); use zig c++, or an image with a musl C++ compiler, "
                    "and say which runtime it links with cxx_runtime=")
        cxx = cxx or commands.missing_compiler(f"[{config}] a Go package in the build has C++ sources, and "
                                               f"{tc.cxx_missing()} (hint: use toolchain='zig')")
        pkg = a.package if a.package.startswith(".") else "./" + a.package
        cxx_linked = bool(cc.cxx or self.own_cxx)
        debug_link = self._debug_link(config, cxx_linked) if split else None
        # cgo's compiles with DWARF; headers of zig's lib dir named by the canonical directory (the split point
        # clang picks between them and Go's work dir would otherwise differ between machines).
        copts = list(tc.default_copts(plat)) + (["-g"] if split else [])
        copts += [f"-ffile-prefix-map={debug_link.directory}={debug_link.canonical}"] if debug_link else []
        env = commands.cgo_env(plat, tc.cc(plat), cxx, cppflags, copts, ldflags)
        # The files this platform's build compiles: one excluded by a build constraint never rebuilds it.
        context = BuildContext(plat.os, plat.info.goarch, frozenset(commands.go_tag_list(a.gotags, plat)))
        inputs = self.ctx.gosrc.package_inputs(self.module, a.package, context)
        for path in inputs:  # cgo's compiles, for compile_commands.json
            if path.endswith(C_SUFFIXES + CXX_SUFFIXES):
                compiler = cxx if path.endswith(CXX_SUFFIXES) else tc.cc(plat)
                self.ctx.compile_commands.add(self.env, self.ctx.build_dir(self.env), path, list(compiler) + cppflags
                                              + list(tc.default_copts(plat)) + ["-I", os.path.dirname(path), "-c", path],
                                              directory=os.path.dirname(path))
        work = self.module.workspace
        link_flags = commands.go_link_flags(a.static, a.strip, stamp.apply(a.x_defs, self._stamp()), split,
                                            objects=[manifest_object])
        build = commands.go_build(go.exe, pkg, tmp_of(out), a.gotags, link_flags, self.module.root, env, plat, work)
        link_policy = self.policy(plat, cxx_runtime=tc.cxx_runtime())
        # `go list` only where the sources read here cannot answer it (a module's prebuilt archive, #cgo LDFLAGS).
        facts = self.ctx.gosrc.link_facts(self.module, a.package, context)
        listing = (commands.Listed(facts.cgo) if facts.closed
                   else commands.go_link_inputs(go.exe, pkg, a.gotags, self.module.root, plat, work))
        checked_link = commands.link_checking_inputs(listing, link_policy, config.dirname,
            list(dict.fromkeys(d.name for d in self.cdeps)), self._manifest(config, cc, go, manifest_object), build)
        policy = self.policy(plat, static=a.static, stripped=a.strip, go=True, cgo=True, trimpath=True,
                             leak_paths=self.ctx.leak_paths(self.env, go, tc), leak_dwarf=a.strip,
                             dwarf_allow=tc.dwarf_allowed())
        # cdeps archives are checked again before the link: a foreign or glibc-built archive fails with the
        # verifier's reason instead of a linker error.
        prechecks = tuple((x.abspath, link_policy) for x in cc.archive_files)
        # What the cgo compiles read beyond the package (Go's cache does not see it): headers, response
        # files of flags, the image. Archives are left out: a .c edit relinks without recompiling cgo code.
        digest_inputs = tuple(n.abspath for n in list(cc.headers) + list(cc.flag_files) + list(tc.sources()))
        work_list, passenv = [checked_link], {**go.passenv(), **tc.env(plat)}
        if split:
            work_list, passenv = self._split_debug(config, go, out, checked_link, copts, cxx_linked, debug_link, passenv)
        step = self.step(config, f"go build {pkg}", work_list, Outputs(out, side=(".debug",) if split else ()),
                         Verification(policy, prechecks=prechecks, report=True, hint=hint),
                         identities=(config.toolchain_identity, go.identity()), passenv=passenv,
                         mounts=(self.module.root,),
                         caching=Caching(remote=True, digest_env="CGO_CPPFLAGS", digest_inputs=digest_inputs))
        sources = ([self.env.File(f) for f in inputs] + list(cc.archives) + list(cc.headers) + list(cc.flag_files)
                   + extra + [self.env.File(f) for c in cc.components for f in c.files])
        node = self.nodes(step, sources, config, scan_paths=cc.scan_paths())[0]
        self.ctx.registry.binaries.append((node, self, config))
        if not split:  # split links use their own zig cache, warmed by their own step
            self.ctx.registry.links.append((node, config, a.strip, cxx_linked))
        return node

    def _splits(self, config):
        """Whether this configuration's link makes split debug files: split_debug=True (refused where it cannot
        be done), or the environment's SCONSRULES_SPLIT_DEBUG for stripped binaries where it can."""
        if self.attrs.split_debug is not None:
            return self.attrs.split_debug
        wanted = self.env.get("SCONSRULES_SPLIT_DEBUG", False)
        if not isinstance(wanted, bool):
            raise self.error(f"SCONSRULES_SPLIT_DEBUG must be True or False, not {declare.describe(wanted)}")
        return wanted and self.attrs.strip and self._split_missing(config) is None

    def _split_missing(self, config):
        plat = config.platform
        why = config.toolchain.split_debug_missing()
        if not why and (plat.info.elf_class != 64 or not plat.info.little_endian):
            why = f"{plat} binaries are not ELF64 little-endian, the only kind execute/debuginfo.py splits"
        return why

    def _debug_link(self, config, cxx):
        """The toolchain's split-debug setting for `config` (None: its links need none), or the reason it
        cannot split, as this target's error."""
        why = self._split_missing(config)
        if why:
            raise self.error(f"[{config}] split_debug: {why}", "build split-debug binaries natively with toolchain='zig' "
                             "for amd64, arm64, riscv64 or ppc64le")
        try:
            return config.toolchain.debug_link(config.platform, cxx)
        except ValueError as exc:
            raise self.error(f"[{config}] split_debug: {exc}", "set XDG_CACHE_HOME to a shorter directory") from None

    def _split_debug(self, config, go, out, checked_link, copts, cxx, link, passenv):
        """The go build step's work and environment for split debug files: zig's links run with its fixed-length
        debug directory, warmed once per target, and the link is given its build ID, verified and split after
        it."""
        a, tc, plat = self.attrs, config.toolchain, config.platform
        full = self.policy(plat, static=a.static, stripped=False, go=True, cgo=True, trimpath=True,
                           leak_paths=self.ctx.leak_paths(self.env, go, tc), leak_dwarf=True,
                           dwarf_allow=tc.dwarf_allowed())
        work = [checked_link, commands.split_debug(tmp_of(out), self.name, link, full)]
        if link is None:
            return work, passenv
        # never empty: Go puts its default "-g -O2" in an empty CGO_LDFLAGS, and zig cc's link then makes
        # compiler-rt in another mode (with -O2, no UBSan runtime) than the real links, which have no -O
        flags = ["-static"] + tc.libc_variant_flags(False) + (tc.cxx_link_flags(plat) if cxx else [])
        env = commands.cgo_env(plat, tc.cc(plat), tc.cxx(plat) or tc.cc(plat), [], copts, flags)
        warm = commands.go_build(go.exe, ".", os.path.join(link.warm_dir, "warm"), (),
                                 commands.go_link_flags(a.static, a.strip, (), True), link.warm_dir, env, plat)
        return [commands.warm_debug_libc(link, warm, cxx)] + work, {**passenv, **dict(link.env)}

    def _stamp(self):
        """The checkout's stamp values with --stamp (once per run and module), else None."""
        if not any(stamp.PATTERN.search(v) for _, v in self.attrs.x_defs) or not self.ctx.options.get("stamp"):
            return None
        try:
            return self.ctx.memo(("stamp", self.module.root), lambda: stamp.values(self.module.root))
        except stamp.StampError as exc:
            raise self.error(f"--stamp: {exc}", "stamp in a git checkout with a commit, or build without --stamp") from None

    def _manifest(self, config, cc, go, obj):
        """What compiling the dependency manifest (verify/manifest.py) into `obj`, which the link takes, needs:
        every C library of the closure, the toolchain and the platform. The go build step makes it
        (execute/golinks.py:link), with the C of required modules that go list finds: it is made exactly when
        the binary is linked."""
        facts = {"binary": self.name, "platform": str(config.platform), "toolchain": config.toolchain_identity,
                 "go": go.identity(), "format": RECORD_FORMAT}
        return (cc.components, tuple(sorted(facts.items())), self.env.Dir("#").abspath,
                tuple(config.toolchain.cc(config.platform)), obj)

    def _download_modules(self, config, go, image):
        """Fetching modules is its own step, the only one given the network; go.sum verifies what arrives.

        One per module and configuration, so binaries of one module share it.
        """
        root = self.module.root

        def make():
            rel = os.path.relpath(root, self.env.Dir("#").abspath).replace("..", "__")
            out = os.path.join(self.ctx.build_dir(self.env), config.dirname, "_gomod", rel, "download.stamp")
            fetch = module_fetch_env(self.ctx.identities, self.env.subst(self.env.get("GO", "go")))
            step = self.step(config, "go mod download", [commands.go_mod_download(go.exe, root, self.module.workspace)],
                             Outputs(out, kind="stamp"), passenv=fetch, mounts=(root,), quiet=True,
                             label=os.path.basename(root))
            sums = [os.path.join(root, f) for f in ("go.mod", "go.sum") if os.path.exists(os.path.join(root, f))]
            return self.nodes(step, [self.env.File(f) for f in sums] + image, config)[0]

        return self.ctx.memo(("go mod download", root, config), make)
