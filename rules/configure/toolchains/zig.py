"""zig cc from the `ziglang` PyPI package: the embedded default, a musl cross compiler for every arch."""
import hashlib
import os
from typing import Optional

import attrs

from .base import DebugLink, Toolchain

# Split debug files (execute/debuginfo.py): zig's lib dir and debug cache live under a directory of this exact
# length, whose bytes in the DWARF are replaced by CANONICAL_DEBUG_DIR (same length, so no offset moves).
DEBUG_DIR_LENGTH = 128
CANONICAL_DEBUG_DIR = "/sconsrules-zig/".ljust(DEBUG_DIR_LENGTH, "_")


def _zig_exe():
    try:
        import ziglang
    except ImportError:
        return None
    exe = os.path.join(os.path.dirname(ziglang.__file__), "zig")
    return exe if os.path.exists(exe) else None


def zig_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("ZIG_GLOBAL_CACHE_DIR") or os.path.join(base, "zig")


def debug_dir() -> str:
    """The fixed-length directory of split-debug links, under the user's cache; ValueError when that is too long."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    head = os.path.join(os.path.abspath(base), "sconsrules", "zig-debug") + "/"
    if len(head) > DEBUG_DIR_LENGTH - 8:
        raise ValueError(f"the cache directory {base} is too long for split debug files (at most "
                         f"{DEBUG_DIR_LENGTH - 33} characters)")
    return head + "_" * (DEBUG_DIR_LENGTH - len(head))


@attrs.frozen
class ZigToolchain(Toolchain):
    name = "zig"
    exe: Optional[str] = attrs.field(factory=_zig_exe)

    def missing(self):
        if not self.exe:
            return "the 'ziglang' Python package is not installed (pip install ziglang)"
        return None

    def cc(self, platform):
        return [self.exe, "cc", "-target", platform.zig_target]

    def cxx(self, platform):
        return [self.exe, "c++", "-target", platform.zig_target]

    def cxx_runtime(self):
        return "libc++"

    def cxx_link_flags(self, platform):
        """zig builds and links its libc++ and libc++abi for the target, statically."""
        return ["-lc++"]

    def _ready_mark(self, platform):
        return os.path.join(zig_cache_dir(), "sconsrules-ready", platform.zig_target)

    def first_use(self, platform):
        if os.path.exists(self._ready_mark(platform)):
            return None
        return (f"first link with zig for {platform.zig_target} on this machine: unless its cache holds them, zig "
                "compiles musl's libc for it once (about 35 s; C++ adds libc++, a few minutes)")

    def used(self, platform):
        mark = self._ready_mark(platform)
        if not os.path.exists(mark):
            os.makedirs(os.path.dirname(mark), exist_ok=True)
            with open(mark, "w") as fh:
                fh.write(f"{self.exe}\n")

    def warm_up(self, platform, strip, cxx, out):
        """zig compiles musl's libc (and libc++ for C++) for the variant the links will ask for."""
        if not self.exe:
            return None
        driver, language = ("c++", "c++") if cxx else ("cc", "c")
        return ([self.exe, driver, "-target", platform.zig_target, "-static"] + self.libc_variant_flags(strip)
                + (self.cxx_link_flags(platform) if cxx else []) + ["-x", language, "-", "-o", out])

    def prefix_map_flags(self):
        """zig's headers (libc, libc++) as split-debug links see them: the same bytes from any install."""
        return [f"-ffile-prefix-map={os.path.dirname(self.exe)}/lib={CANONICAL_DEBUG_DIR}/lib"] if self.exe else []

    def libc_variant_flags(self, strip):
        """zig builds musl's libc.a per variant, PIC or not and stripped or not (other flags, such as -O or
        -static, do not matter), about 35 s each. Go compiles and links cgo's `_cgo_.o` with -fPIC and without
        -s, configure scripts link their probes with debug info: each would build another one."""
        return (["-s"] if strip else []) + ["-fno-PIC"]

    def debug_link(self, platform, cxx):
        directory = debug_dir()
        cache = os.path.join(directory, "cache")
        version = hashlib.sha256(self.identity().encode()).hexdigest()[:16] if self.exe else "none"
        warm = f"{platform.zig_target}{'-c++' if cxx else ''}"
        return DebugLink(env=(("ZIG_GLOBAL_CACHE_DIR", cache), ("ZIG_LIB_DIR", os.path.join(directory, "lib")),
                              ("ZIG_LOCAL_CACHE_DIR", cache)),
                         directory=directory, canonical=CANONICAL_DEBUG_DIR,
                         lib=os.path.join(os.path.dirname(self.exe or ""), "lib"),
                         warm_dir=os.path.join(directory, "warm", warm),
                         mark=os.path.join(cache, "sconsrules-warm", f"{warm}-{version}"))

    def ar(self, platform):
        return [self.exe, "ar"]

    def ranlib(self, platform):
        return [self.exe, "ranlib"]

    def env(self, platform):
        cache = zig_cache_dir()
        # One shared cache: musl's libc is built once per target, not once per action.
        return {"ZIG_GLOBAL_CACHE_DIR": cache, "ZIG_LOCAL_CACHE_DIR": cache}

    def install_dirs(self):
        """zig's install, and the fixed-length directory of split-debug links (its padding depends on the cache
        path's length, so cache keys and provenance name it)."""
        if not self.exe:
            return ()
        try:
            debug = ((debug_dir(), "<zig-debug>"),)
        except ValueError:
            debug = ()
        return ((os.path.dirname(self.exe), "<zig>"),) + debug

    def cache_dirs(self):
        return (zig_cache_dir(),)

    def identity(self):
        return "zig " + self.ids.of([self.exe, "version"], [self.exe])
