"""PkgConfigCLib: a C library that is already installed where the toolchain runs, found with
`pkg-config --static` (an image with a library's static package, or a musl sysroot on this machine).

pkg-config runs as a build step in the toolchain's executor (the host, or the builder container: a
Dockerfile-built image exists only at build time). The step writes response files for dependents
(`cflags.rsp`, `libs.rsp`) and copies every archive the module links into its output, so the host can verify
it (musl, right machine) and content signatures see it: the copies sit in directories named by their
checksum (lib/<cksum>/<original path>), so `libs.rsp` changes whenever an archive's bytes do. A module that resolves to a shared library
only is an error: nothing here links dynamically.
"""
import hashlib
import os
import shutil
import subprocess

import attrs

from ..actions import Outputs, Verification, commands, tmp_of
from ..providers import CcInfo, Component
from . import attributes as declare
from .rule import Rule



def _module(inst, attribute, value):
    if not isinstance(value, str) or not value.strip():
        raise declare.AttributeError_("module must name a pkg-config module, e.g. 'openssl' or 'zlib >= 1.2'")


def _optional_str(name):
    def check(inst, attribute, value):
        if value is not None and (not isinstance(value, str) or not value):
            raise declare.AttributeError_(f"{name} must be a non-empty string")

    return check


@attrs.frozen
class PkgConfigAttrs:
    name: str
    module: str = attrs.field(default=None, validator=_module)
    pkg_config: str = attrs.field(default="pkg-config", validator=_optional_str("pkg_config"))
    # Replaces pkg-config's default search path (PKG_CONFIG_LIBDIR), so the host's glibc libraries cannot
    # slip into a musl build; placeholders as in ForeignCLib ({goarch}, {cpu}, {triple}).
    pkg_config_path: tuple = attrs.field(default=(), converter=declare.string_list("pkg_config_path", True))
    sysroot: str = attrs.field(default=None, validator=_optional_str("sysroot"))  # PKG_CONFIG_SYSROOT_DIR
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)


def listing_key(directories):
    """Stat of every .pc file in the search directories and every library beside them (their parent lib dir):
    what decides the resolution on this machine, checked at read time without starting a process."""
    parts = []
    for directory in directories:
        dirs = [directory] + ([os.path.dirname(directory)] if os.path.basename(directory) == "pkgconfig" else [])
        for d in dirs:
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                parts.append(f"{d}:absent")
                continue
            for entry in entries:
                name = entry.name
                if name.endswith(".pc") or (name.startswith("lib") and (name.endswith(".a") or ".so" in name)):
                    try:
                        st = entry.stat()
                    except OSError:
                        continue
                    parts.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def host_search_path(pkg_config, ids):
    """pkg-config's built-in search path on this machine (cached by the binary's identity), or ()."""
    exe = shutil.which(pkg_config)
    if not exe:
        return ()
    try:
        out = ids.of([exe, "--variable", "pc_path", "pkg-config"], [os.path.realpath(exe)])
    except (OSError, subprocess.SubprocessError):
        return ()  # a broken pkg-config is reported by the build step itself
    return tuple(p for p in out.split(":") if p)


class PkgConfigCLib(Rule):
    kind = "PkgConfigCLib"
    Attributes = PkgConfigAttrs
    library = True

    def realize(self, config):
        a, tc, plat = self.attrs, config.toolchain, config.platform
        out = os.path.join(self.outdir(config), "_pkgconfig", self.name)
        # Paths are relative to the SConscript, like every other path attribute.
        search = [self.env.Dir(p).abspath for p in self.fill(a.pkg_config_path, plat, "pkg_config_path")]
        env = {"PKG_CONFIG_ALLOW_SYSTEM_LIBS": "1"}
        if search:
            env["PKG_CONFIG_LIBDIR"] = ":".join(search)
        if a.sysroot:
            env["PKG_CONFIG_SYSROOT_DIR"] = self.env.Dir(self.fill([a.sysroot], plat, "sysroot")[0]).abspath
        identities = [config.toolchain_identity]
        if search or tc.host_libraries:
            # Libraries on this machine (also mounted into a container) change without any declared input
            # changing: their listing is an input (once per run). An image's own are covered by its ID.
            directories = tuple(search) or host_search_path(a.pkg_config, self.ctx.identities)
            identities.append(self.ctx.memo(("pkg-config listing", directories), lambda: listing_key(directories)))
        step = self.step(config, f"pkg-config {a.module}",
                         [commands.pkg_config_resolve(a.pkg_config, a.module, tmp_of(out), out, env)],
                         Outputs(out, kind="tree", members=("cflags.rsp", "libs.rsp")),
                         Verification(self.policy(plat), glob="lib/*.a", hint=(
                             "an installed library must be a musl build for this platform: point pkg_config_path= "
                             "at a musl sysroot, use an image that has one, or build it with ForeignCLib")),
                         identities=identities, passenv={}, mounts=tuple(search))
        cflags, libs = self.nodes(step, list(tc.sources()), config, provides=True)
        return CcInfo(archives=(libs,), flag_files=(cflags,),
                      components=(Component(self.kind, self.name, (("module", a.module),), archives_in=out),))
