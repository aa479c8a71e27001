"""PkgConfigCLib: a C library that is already installed where the toolchain runs, found with
`pkg-config --static` (an image with a library's static package, or a musl sysroot on this machine).

pkg-config runs as a build step in the toolchain's executor (the host, or the builder container: a
Dockerfile-built image exists only at build time). The step writes response files for dependents
(`cflags.rsp`, `libs.rsp`) and copies every archive the module links into its output, so the host can verify
it (musl, right machine) and content signatures see it: the copies sit in directories named by their
checksum (lib/<cksum>/<original path>), so `libs.rsp` changes whenever an archive's bytes do. A module that resolves to a shared library
only is an error: nothing here links dynamically.
"""
import functools
import hashlib
import os
import shutil
import subprocess

import attrs

from . import declare
from .actions import Command, Step, tmp_of
from .identity import tool_identity
from .providers import CcInfo
from .verify import Policy

RULE = "PkgConfigCLib"
# Parts of the C library itself: musl's libc.a holds them all, so they stay -l flags (never copied).
LIBC_PARTS = "c m pthread dl rt util xnet resolv crypt"

# Portable sh (a minimal image may have only busybox): $1 the step's temporary directory, $2 the final one,
# $3 the pkg-config command, $4 the module. A failure states its cause on one line (perform shows it).
RESOLVE_SCRIPT = r'''
set -u
set -f
tmp=$1 final=$2 pc=$3 module=$4
fail() { printf 'sconsrules: error: %s\n' "$*"; exit 3; }
command -v "$pc" >/dev/null 2>&1 || fail "'$pc' is not installed where the toolchain runs (install pkg-config, or name it with pkg_config=)"
mkdir -p "$tmp/lib" || exit 1
if ! "$pc" --exists --print-errors "$module" 2>"$tmp/pkg-config.err"; then
  fail "$pc: $(tail -n 1 "$tmp/pkg-config.err") (install the library's development package, or set pkg_config_path=)"
fi
cflags=$("$pc" --static --cflags "$module") || fail "$pc --static --cflags $module failed"
libs=$("$pc" --static --libs "$module") || fail "$pc --static --libs $module failed"
: >"$tmp/cflags.rsp"
: >"$tmp/libs.rsp"
: >"$tmp/origins.txt"
for w in $cflags; do printf '%s\n' "$w" >>"$tmp/cflags.rsp"; done
add() { printf '%s\n' "$1" >>"$tmp/libs.rsp"; }
copy() {
  [ -f "$1" ] || fail "$1, named by the .pc files of $module, does not exist"
  sum=$(cksum <"$1" | tr ' ' '-') || exit 1
  copy=lib/$sum/${1#/}
  mkdir -p "$tmp/${copy%/*}" && cp "$1" "$tmp/$copy" || exit 1
  add "$final/$copy"
  printf '%s\n' "$1" >>"$tmp/origins.txt"
}
dirs=
for w in $libs; do
  case $w in
    -L*) dirs="$dirs ${w#-L}" ;;
    -l*)
      n=${w#-l}
      case " $LIBC_PARTS " in *" $n "*) add "$w"; continue ;; esac
      found= shared=
      for d in $dirs; do
        if [ -f "$d/lib$n.a" ]; then found=$d/lib$n.a; break; fi
        if [ -z "$shared" ] && [ -e "$d/lib$n.so" ]; then shared=$d/lib$n.so; fi
      done
      if [ -n "$found" ]; then copy "$found"
      elif [ -n "$shared" ]; then fail "-l$n resolves only to the shared library $shared: a static link needs lib$n.a (install the library's static package)"
      else fail "-l$n: no lib$n.a in the directories the .pc files name (${dirs# })"
      fi ;;
    *.a) copy "$w" ;;
    *.so|*.so.[0-9]*) fail "$w is a shared library: a static link needs its .a (install the library's static package)" ;;
    *) add "$w" ;;
  esac
done
'''


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
    pkg_config_path: tuple = attrs.field(default=(), converter=declare.string_list("pkg_config_path"))
    sysroot: str = attrs.field(default=None, validator=_optional_str("sysroot"))  # PKG_CONFIG_SYSROOT_DIR
    verify: tuple = attrs.field(default=None, converter=declare.relaxations)


@functools.lru_cache(maxsize=None)
def _listing_key(directories):
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


def host_search_path(pkg_config):
    """pkg-config's built-in search path on this machine (cached by the binary's identity), or ()."""
    exe = shutil.which(pkg_config)
    if not exe:
        return ()
    try:
        out = tool_identity([exe, "--variable", "pc_path", "pkg-config"], [os.path.realpath(exe)])
    except (OSError, subprocess.SubprocessError):
        return ()  # a broken pkg-config is reported by the build step itself
    return tuple(p for p in out.split(":") if p)


class PkgConfigCLib:
    def __init__(self, ctx, env, attributes):
        self.ctx = ctx
        self.env = env
        self.attrs = attributes
        self.srcdir = env.Dir(".")

    def realize(self, config):
        a = self.attrs
        tc, plat = config.toolchain, config.platform
        tc.check_platform(plat, RULE, a.name)
        out = os.path.join(self.ctx.outdir(self.env, config, self.srcdir), "_pkgconfig", a.name)
        # Paths are relative to the SConscript, like every other path attribute.
        search = [self.env.Dir(p).abspath
                  for p in declare.fill_placeholders(a.pkg_config_path, plat, RULE, a.name, "pkg_config_path")]
        env = {"PKG_CONFIG_ALLOW_SYSTEM_LIBS": "1", "LIBC_PARTS": LIBC_PARTS}
        if search:
            env["PKG_CONFIG_LIBDIR"] = ":".join(search)
        if a.sysroot:
            sysroot = declare.fill_placeholders([a.sysroot], plat, RULE, a.name, "sysroot")[0]
            env["PKG_CONFIG_SYSROOT_DIR"] = self.env.Dir(sysroot).abspath
        executor = self.ctx.executor_for(self.env, config, RULE, a.name, sources=tuple(search))
        identities = [tc.identity()]
        if search or executor == "native":
            # Libraries on this machine (also mounted into a container) change without any declared input
            # changing: their listing is an input. An image's own are covered by its ID.
            identities.append(_listing_key(tuple(search) or host_search_path(a.pkg_config)))
        command = Command(["sh", "-c", RESOLVE_SCRIPT, "pkgconfig", tmp_of(out), out, a.pkg_config, a.module], env=env)
        relax = self.ctx.relaxations(self.env, a.verify, RULE, a.name)
        step = Step(RULE, a.name, config.dirname, f"pkg-config {a.module}", out, (command,), Policy(plat, relax=relax),
                    tuple(identities), executor=executor, members=("cflags.rsp", "libs.rsp"), verify_glob="lib/*.a",
                    verify_hint="an installed library must be a musl build for this platform: point pkg_config_path= "
                    "at a musl sysroot, use an image that has one, or build it with ForeignCLib")
        cflags, libs = self.ctx.step_nodes(self.env, step, list(tc.sources()),
                                           targets=[os.path.join(out, "cflags.rsp"), os.path.join(out, "libs.rsp")])
        for node in (cflags, libs):
            node.attributes.sconsrules_target = self
        return CcInfo(archives=(libs,), flag_files=(cflags,))
