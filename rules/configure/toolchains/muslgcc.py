"""Debian's musl-gcc wrapper (musl-tools): native builds for the host architecture only."""
import os
import re
import shutil
from typing import Optional

import attrs

from .base import Toolchain, host_only


def _specs_file(script):
    """musl-gcc is a shell script naming its specs file; libc.a sits beside it."""
    try:
        with open(script, errors="replace") as fh:
            match = re.search(r'-specs\s+"?([^"\s]+)"?', fh.read(4096))
    except OSError:
        return None
    return match.group(1) if match else None


KERNEL_HEADERS = {"linux": "/usr/include/linux", "asm-generic": "/usr/include/asm-generic"}


def _kernel_header_sources():
    arch_asm = f"/usr/include/{os.uname().machine}-linux-gnu/asm"
    sources = dict(KERNEL_HEADERS, asm=arch_asm if os.path.isdir(arch_asm) else "/usr/include/asm")
    return sources if all(os.path.isdir(p) for p in sources.values()) else None


def kernel_headers_dir():
    """A directory exposing only the Linux kernel headers (linux/, asm/, asm-generic/) of this machine.

    musl-gcc leaves /usr/include out (it holds glibc's headers), so code that includes <linux/...> (OpenSSL's
    mem_sec.c, for one) does not compile with it; the kernel's own headers are libc-neutral, as on Alpine.
    Its links are made by `prepare()`, at build time.
    """
    if _kernel_header_sources() is None:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sconsrules", "musl-kernel-headers")


@attrs.frozen
class MuslGccToolchain(Toolchain):
    name = "musl-gcc"
    exe: Optional[str] = attrs.field(factory=lambda: shutil.which("musl-gcc"))

    def dwarf_allowed(self):
        """Debian builds musl in /build/musl-<random>/: its libc.a's DWARF names that, whatever the machine."""
        return ("/build/",)

    def missing(self):
        if not self.exe:
            return "musl-gcc is not on PATH (Debian/Ubuntu: apt-get install musl-tools)"
        return None

    def check_platform(self, platform, rule, target):
        host_only(self, platform, rule, target)

    def cc(self, platform):
        headers = kernel_headers_dir()
        return [self.exe] + (["-isystem", headers] if headers else [])

    def prepare(self):
        target, sources = kernel_headers_dir(), _kernel_header_sources()
        if not target:
            return
        os.makedirs(target, exist_ok=True)
        for name, path in sources.items():
            link = os.path.join(target, name)
            if os.path.realpath(link) != os.path.realpath(path):
                if os.path.lexists(link):
                    os.remove(link)
                os.symlink(path, link)

    def cxx_missing(self):
        return ("musl-gcc has no C++: Debian ships no libstdc++ built for musl, so C++ code cannot be linked "
                "statically against musl with it")

    def ar(self, platform):
        return [shutil.which("ar") or "ar"]

    def identity(self):
        keys = [self.exe]
        specs = _specs_file(self.exe)
        if specs:
            keys += [specs, os.path.join(os.path.dirname(specs), "libc.a")]
        gcc = shutil.which("gcc")
        if gcc:
            keys.append(os.path.realpath(gcc))
        return "musl-gcc " + self.ids.of([self.exe, "--version"], keys)
