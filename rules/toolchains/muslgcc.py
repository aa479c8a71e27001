"""Debian's musl-gcc wrapper (musl-tools): native builds for the host architecture only."""
import os
import re
import shutil

import attrs

from ..identity import tool_identity
from .base import Toolchain, host_only


def _specs_file(script):
    """musl-gcc is a shell script naming its specs file; libc.a sits beside it."""
    try:
        with open(script, errors="replace") as fh:
            match = re.search(r'-specs\s+"?([^"\s]+)"?', fh.read(4096))
    except OSError:
        return None
    return match.group(1) if match else None


@attrs.frozen
class MuslGccToolchain(Toolchain):
    name = "musl-gcc"
    exe: str = attrs.field(factory=lambda: shutil.which("musl-gcc"))

    def missing(self):
        if not self.exe:
            return "musl-gcc is not on PATH (Debian/Ubuntu: apt-get install musl-tools)"
        return None

    def check_platform(self, platform, rule, target):
        host_only(self, platform, rule, target)

    def cc(self, platform):
        return [self.exe]

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
        return "musl-gcc " + tool_identity([self.exe, "--version"], keys)
