"""ForeignCLib: a third-party C library built by its own build system (configure-make, cmake, make), static
only, with the configuration's toolchain, into a per-configuration prefix; a provider like StaticCLib.

The build runs in a scratch copy of the source (the unpacked store stays pristine) and installs with
DESTDIR into the step's temporary directory under a fixed runtime prefix (/usr/local by default), so no
build-machine path is compiled into the library (OpenSSL compiles OPENSSLDIR, ENGINESDIR and MODULESDIR into libcrypto). The
declared outputs are then verified as musl archives of the right machine before they take their place.
"""
import os
import shlex

import attrs

from . import declare
from .actions import Command, Step, tmp_of
from .providers import CcInfo
from .verify import Policy

RULE = "ForeignCLib"
BUILDS = ("configure-make", "cmake", "make")


def _build_kind(inst, attribute, value):
    if value not in BUILDS:
        raise declare.AttributeError_(f"build must be one of {', '.join(BUILDS)}, not {value!r}")


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
                                      f"not {value!r}")


def _env_dict(value):
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise declare.AttributeError_("env must be a dict of strings")
    return tuple(sorted(value.items()))


@attrs.frozen
class ForeignAttrs:
    name: str
    source: object = None
    build: str = attrs.field(default="configure-make", validator=_build_kind)
    configure_command: str = "./configure"
    configure_args: tuple = attrs.field(default=(), converter=declare.string_list("configure_args"))
    make_args: tuple = attrs.field(default=(), converter=declare.string_list("make_args"))
    make_targets: tuple = attrs.field(default=(), converter=declare.string_list("make_targets"))
    install_targets: tuple = attrs.field(default=("install",), converter=declare.string_list("install_targets"))
    outputs: tuple = attrs.field(default=(), converter=_outputs)
    includes: tuple = attrs.field(default=("include",), converter=declare.string_list("includes"))
    defines: tuple = attrs.field(default=(), converter=declare.string_list("defines"))
    deps: tuple = attrs.field(default=(), converter=declare.node_list)
    linkopts: tuple = attrs.field(default=(), converter=declare.string_list("linkopts"))
    env: tuple = attrs.field(default=None, converter=_env_dict)
    install_prefix: str = attrs.field(default="/usr/local", validator=_install_prefix)
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)


def _wrapper(path, argv):
    """A script at `path` running `argv`; a bare command name is resolved now (PATH will start with the
    wrappers' own directory, so a wrapper named like its tool must not find itself)."""
    tool = shlex.quote(argv[0]) if os.path.isabs(argv[0]) else f'"$(command -v {shlex.quote(argv[0])})"'
    rest = shlex.quote(shlex.join(argv[1:])) if argv[1:] else "''"
    return (f"printf '#!/bin/sh\\nexec %s %s \"$@\"\\n' {tool} {rest} > {path} && chmod +x {path}")


class ForeignCLib:
    def __init__(self, ctx, env, attributes, source_tree):
        self.ctx = ctx
        self.env = env
        self.attrs = attributes
        self.srcdir = env.Dir(".")
        self.source_dir, self.source_nodes = source_tree
        name = attributes.name
        self.deps = tuple(ctx.registry.lookup(d, RULE, name, "deps") for d in attributes.deps)

    def _script(self, config, work, stage, cc_extra):
        a, tc, plat = self.attrs, config.toolchain, config.platform
        args = declare.fill_placeholders(a.configure_args, plat, RULE, a.name, "configure_args")
        bindir = f"{work}/.sconsrules-bin"
        lines = ["set -eu", f"rm -rf {shlex.quote(work)}", f"mkdir -p {shlex.quote(bindir)}",
                 f"cp -a {shlex.quote(self.source_dir)}/. {shlex.quote(work)}/",
                 _wrapper(f"{bindir}/cc", tc.cc(plat) + cc_extra), _wrapper(f"{bindir}/ar", tc.ar(plat)),
                 _wrapper(f"{bindir}/ranlib", tc.ranlib(plat)), f'export PATH="{bindir}:$PATH"',
                 f"cd {shlex.quote(work)}"]
        make = ["make"] + list(a.make_args)
        if a.build == "configure-make":
            lines.append(shlex.join([a.configure_command, f"--prefix={a.install_prefix}"] + args))
        if a.build == "cmake":
            lines.append(shlex.join(["cmake", "-S", ".", "-B", "_sconsrules_build", "-DCMAKE_BUILD_TYPE=Release",
                                     "-DBUILD_SHARED_LIBS=OFF", f"-DCMAKE_INSTALL_PREFIX={a.install_prefix}",
                                     f"-DCMAKE_AR={bindir}/ar", f"-DCMAKE_RANLIB={bindir}/ranlib"] + args))
            lines.append("cmake --build _sconsrules_build")
            lines.append(f"DESTDIR={shlex.quote(stage)} cmake --install _sconsrules_build")
        else:
            lines.append(shlex.join(make + list(a.make_targets)))
            lines.append(shlex.join(make + list(a.install_targets) + [f"DESTDIR={stage}", f"PREFIX={a.install_prefix}"]))
        return "\n".join(lines)

    def realize(self, config):
        a = self.attrs
        name = a.name
        deps = [self.ctx.registry.realize(d, config) for d in self.deps]
        tc, plat = config.toolchain, config.platform
        tc.check_platform(plat, RULE, name)
        seen = CcInfo.merge(CcInfo(), deps)
        base = os.path.join(self.ctx.outdir(self.env, config, self.srcdir), "_foreign")
        out = os.path.join(base, name)
        work = os.path.join(base, name + ".work")
        stage = tmp_of(out)
        prefix = a.install_prefix.strip("/")
        # Build systems record CC and CFLAGS in what they build (OpenSSL's `openssl version -f`): the paths
        # of this machine go into the cc wrapper, and CC, CFLAGS and CPPFLAGS stay path-free.
        cc_extra = [f"-ffile-prefix-map={work}=."] + [f"-I{i}" for i in seen.includes] + list(seen.flag_args())
        cflags = list(tc.default_copts(plat)) + [f"-D{d}" for d in a.defines]
        env = {"CC": "cc", "AR": "ar", "RANLIB": "ranlib", "CFLAGS": " ".join(cflags),
               "LDFLAGS": " ".join(sorted({f"-L{os.path.dirname(x.abspath)}" for x in seen.archive_files})),
               "SOURCE_DATE_EPOCH": "0", **dict(a.env)}
        executor = self.ctx.executor_for(self.env, config, RULE, name, sources=(self.source_dir,))
        command = Command(["sh", "-c", self._script(config, work, stage, cc_extra)], env=env)
        members = tuple(os.path.join(prefix, o) for o in a.outputs)
        relax = self.ctx.relaxations(self.env, a.verify, RULE, name)
        passenv = dict(tc.env(plat), MAKEFLAGS=f"-j{os.cpu_count() or 1}")  # -j must not change signatures
        step = Step(RULE, name, config.dirname, f"{a.build} build", out, (command,), Policy(plat, relax=relax),
                    (tc.identity(),), tuple(sorted(passenv.items())), executor=executor, members=members, quiet=True,
                    shared_cache=True)
        sources = (list(self.source_nodes) + list(seen.archives) + list(seen.headers) + list(seen.flag_files)
                   + list(tc.sources()))
        nodes = self.ctx.step_nodes(self.env, step, sources, targets=[os.path.join(out, m) for m in members])
        for node in nodes:
            node.attributes.sconsrules_target = self
        # The installed headers are not declared one by one: the install's archives stand for them, so that
        # dependents compile after the install and again when it changes.
        includes = tuple(os.path.join(out, prefix, i) for i in a.includes)
        own = CcInfo(includes=includes, defines=a.defines, headers=tuple(nodes), archives=tuple(nodes),
                     linkopts=(a.linkopts,) if a.linkopts else (), generated_includes=includes)
        return CcInfo.merge(own, deps)
