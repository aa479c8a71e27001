"""GoCgoBinary: a Go package built with cgo against StaticCLib cdeps, one artifact per platform.

Static linking uses Go's external linker with -static (`CC=musl-gcc` alone has produced dynamic
binaries, golang/go#56386), strip goes into -extldflags too (zig ignores Go's -s otherwise), and -trimpath
without VCS stamping keeps the output reproducible.
"""
import hashlib
import os
import re
import shlex

import attrs

from . import declare
from .actions import Command, Step, tmp_of
from .errors import RuleError
from .gosrc import GoSourceError, find_module_root, read_module
from .providers import CcInfo
from .toolchains.go import FIXED as GO_FIXED_ENV, module_fetch_env
from .verify import Policy

RULE = "GoCgoBinary"
DEFAULT_TAGS = ("netgo", "osusergo")


def go_quote(field):
    """One field of a `go build -ldflags` string, quoted the way go splits it (cmd/internal/quoted: a field
    may be wrapped in '...' or "..." with nothing escaped inside; a quote inside an unquoted field is literal)."""
    if field and not any(c.isspace() for c in field) and field[0] not in "'\"":
        return field
    for quote in "'\"":
        if quote not in field:
            return quote + field + quote
    raise ValueError(f"{field!r} holds white space and both kinds of quote, which go's -ldflags cannot express")


def _x_defs(value):
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise declare.AttributeError_(f"x_defs must be a dict of 'importpath.name' to string, not {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise declare.AttributeError_(f"x_defs entries must be strings, found {k!r}: {v!r}")
        if not re.fullmatch(r"[^\s=]+\.[^\s=.]+", k):
            raise declare.AttributeError_(f"x_defs: {k!r} must name a variable as 'importpath.name', e.g. 'main.version'")
        try:
            go_quote(f"-X={k}={v}")
        except ValueError as exc:
            raise declare.AttributeError_(f"x_defs: {exc}") from None
    return tuple(sorted(value.items()))


def _bool(name):
    def convert(value):
        if not isinstance(value, bool):
            raise declare.AttributeError_(f"{name} must be True or False, not {value!r}")
        return value

    return convert


@attrs.frozen
class GoBinaryAttrs:
    name: str
    package: str = attrs.field(default=".")
    module: str = None
    cdeps: tuple = attrs.field(default=(), converter=declare.node_list)
    platforms: tuple = attrs.field(default=None)
    toolchain: object = None
    gotags: tuple = attrs.field(default=(), converter=declare.string_list("gotags"))
    x_defs: tuple = attrs.field(default=None, converter=_x_defs)
    static: bool = attrs.field(default=True, converter=_bool("static"))
    strip: bool = attrs.field(default=True, converter=_bool("strip"))
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)

    @package.validator
    def _package(self, attribute, value):
        if not isinstance(value, str) or not value:
            raise declare.AttributeError_("package must be a path relative to the module root, e.g. './cmd/app'")
        if os.path.isabs(value) or os.path.normpath(value).split(os.sep)[0] == "..":
            raise declare.AttributeError_(f"package {value!r} must stay inside the module root")


class GoCgoBinary:
    def __init__(self, ctx, env, attributes):
        self.ctx = ctx
        self.env = env
        self.attrs = attributes
        name = attributes.name
        self.srcdir = env.Dir(".")
        start = env.Dir(attributes.module).abspath if attributes.module else self.srcdir.abspath
        root = find_module_root(start) if not attributes.module else start
        if not root or not os.path.isfile(os.path.join(root, "go.mod")):
            raise RuleError(RULE, name, f"no go.mod found at or above {start}",
                            "set module= to the directory holding go.mod")
        try:
            self.module = read_module(root)
            self.inputs = ctx.gosrc.package_inputs(self.module, attributes.package)
            clause = ctx.gosrc.package_name(os.path.join(root, attributes.package))
        except GoSourceError as exc:
            raise RuleError(RULE, name, str(exc), "package= is relative to the module root (the go.mod directory)") from None
        if clause != "main":
            raise RuleError(RULE, name, f"package {attributes.package} is not a main package (package {clause})",
                            "point package= at the directory of a `package main` with func main")
        self.cdeps = tuple(ctx.registry.lookup(d, RULE, name, "cdeps") for d in attributes.cdeps)

    def realize(self, config):
        """The binary's node in `config`."""
        name = self.attrs.name
        cc = CcInfo.merge(CcInfo(), [self.ctx.registry.realize(d, config) for d in self.cdeps])
        tc = config.toolchain
        plat = config.platform
        go = tc.go_sdk() or self.ctx.go_sdk(self.env, RULE, name)
        executor = self.ctx.executor_for(self.env, config, RULE, name, sources=(self.module.root,))
        extra = list(tc.sources())
        if executor != "native":
            extra.append(self._download_modules(config, go, executor, extra))
        cflags = (list(tc.default_copts(plat)) + [f"-D{d}" for d in cc.defines] + [f"-I{i}" for i in cc.includes]
                  + list(cc.flag_args()) + self.ctx.prefix_map_flags(self.env)
                  # An image's system headers can change while its compiler's version (all Go asks) does not.
                  + [f"-DSCONSRULES_TOOLCHAIN={hashlib.sha256(tc.identity().encode()).hexdigest()[:16]}"])
        ldflags = list(cc.link_args()) + list(cc.flat_linkopts)
        extld = (["-static"] if self.attrs.static else []) + (["-s"] if self.attrs.strip else [])
        go_ldflags = ["-linkmode=external", "-extldflags=" + " ".join(extld)] if extld else ["-linkmode=external"]
        if self.attrs.strip:
            go_ldflags = ["-s", "-w"] + go_ldflags
        # Go's build ID hashes absolute -I and archive paths: empty it so other checkouts give the same bytes.
        go_ldflags += ["-buildid="] + [f"-X={k}={v}" for k, v in self.attrs.x_defs]
        tags = list(DEFAULT_TAGS) + [t for t in self.attrs.gotags if t not in DEFAULT_TAGS]
        out = os.path.join(self.ctx.outdir(self.env, config, self.srcdir), name)
        pkg = self.attrs.package if self.attrs.package.startswith(".") else "./" + self.attrs.package
        command = Command(
            [go.exe, "build", "-trimpath", "-buildvcs=false", "-tags", ",".join(tags),
             "-ldflags", " ".join(go_quote(f) for f in go_ldflags), "-o", tmp_of(out), pkg],
            env=dict(
                CGO_ENABLED="1", GOOS=plat.os, GOARCH=plat.info.goarch,
                CC=shlex.join(tc.cc(plat)), CGO_CFLAGS=shlex.join(cflags), CGO_LDFLAGS=shlex.join(ldflags),
                **dict(plat.info.go_env), **GO_FIXED_ENV,
            ),
            cwd=self.module.root,
            expand_env=("CGO_CFLAGS", "CGO_LDFLAGS"),
        )
        passenv = dict(go.passenv())
        passenv.update(tc.env(plat))
        relax = self.ctx.relaxations(self.env, self.attrs.verify, RULE, name)
        policy = Policy(plat, static=self.attrs.static, stripped=self.attrs.strip, go=True, cgo=True, trimpath=True,
                        leak_paths=self.ctx.leak_paths(self.env, go, tc), leak_dwarf=self.attrs.strip, relax=relax)
        # cdeps archives are checked again before the link: a foreign or glibc-built archive fails with the
        # verifier's reason instead of a linker error.
        prechecks = tuple((a.abspath, Policy(plat, relax=relax)) for a in cc.archive_files)
        # What the cgo compiles read beyond the package (Go's cache does not see it): headers, response
        # files of flags, the image. Archives are left out: a .c edit relinks without recompiling cgo code.
        digest_inputs = tuple(n.abspath for n in list(cc.headers) + list(cc.flag_files) + list(tc.sources()))
        step = Step(RULE, name, config.dirname, f"go build {pkg}", out, (command,), policy,
                    (tc.identity(), go.identity()), tuple(sorted(passenv.items())), report=True, prechecks=prechecks,
                    executor=executor, digest_env="CGO_CFLAGS", digest_inputs=digest_inputs)
        sources = ([self.env.File(f) for f in self.inputs] + list(cc.archives) + list(cc.headers) + list(cc.flag_files)
                   + extra)
        node = self.ctx.step_nodes(self.env, step, sources, scan_paths=cc.scan_paths())[0]
        self.ctx.registry.binaries.append((node, self, config))
        return node

    def _download_modules(self, config, go, executor, image):
        """Fetching modules is its own step, the only one given the network; go.sum verifies what arrives.

        One per module and configuration (memoized), so binaries of one module share it.
        """
        key = ("go mod download", self.module.root, config)
        if key not in self.ctx.registry.realized:
            root = self.module.root
            rel = os.path.relpath(root, self.env.Dir("#").abspath).replace("..", "__")
            out = os.path.join(self.ctx.build_dir(self.env), config.dirname, "_gomod",
                               rel, "download.stamp")
            command = Command([go.exe, "mod", "download"], env=GO_FIXED_ENV, cwd=root, network=True)
            fetch = tuple(sorted(module_fetch_env(self.env.subst(self.env.get("GO", "go"))).items()))
            step = Step(RULE, os.path.basename(root), config.dirname, "go mod download", out, (command,), None,
                        (config.toolchain.identity(),), fetch, executor=executor, quiet=True)
            sums = [os.path.join(root, f) for f in ("go.mod", "go.sum") if os.path.exists(os.path.join(root, f))]
            self.ctx.registry.realized[key] = self.ctx.step_nodes(self.env, step, [self.env.File(f) for f in sums] + image)[0]
        return self.ctx.registry.realized[key]

