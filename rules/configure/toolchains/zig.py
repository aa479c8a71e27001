"""zig cc from the `ziglang` PyPI package: the embedded default, a musl cross compiler for every arch."""
import os
from typing import Optional

import attrs

from .base import Toolchain


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
                "compiles musl's libc for it now, once (about 90 s; C++ adds libc++, a few minutes)")

    def used(self, platform):
        mark = self._ready_mark(platform)
        if not os.path.exists(mark):
            os.makedirs(os.path.dirname(mark), exist_ok=True)
            with open(mark, "w") as fh:
                fh.write(f"{self.exe}\n")

    def ar(self, platform):
        return [self.exe, "ar"]

    def ranlib(self, platform):
        return [self.exe, "ranlib"]

    def env(self, platform):
        cache = zig_cache_dir()
        # One shared cache: musl's libc is built once per target, not once per action.
        return {"ZIG_GLOBAL_CACHE_DIR": cache, "ZIG_LOCAL_CACHE_DIR": cache}

    def install_dirs(self):
        return ((os.path.dirname(self.exe), "<zig>"),) if self.exe else ()

    def cache_dirs(self):
        return (zig_cache_dir(),)

    def identity(self):
        return "zig " + self.ids.of([self.exe, "version"], [self.exe])
