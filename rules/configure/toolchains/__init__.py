"""The C toolchains by name, and how 'auto' chooses among them."""
from typing import Dict

from ...errors import RuleError
from ..identity import ToolIdentities
from .base import Toolchain
from .muslgcc import MuslGccToolchain
from .zig import ZigToolchain

KINDS = {"zig": ZigToolchain, "musl-gcc": MuslGccToolchain}
NAMES = ("auto",) + tuple(KINDS)


class Toolchains:
    """The named toolchains of one run (each made once, sharing the run's tool identities)."""

    def __init__(self, ids: ToolIdentities) -> None:
        self.ids = ids
        self._made: Dict[str, Toolchain] = {}

    def get(self, name: str) -> Toolchain:
        if name not in self._made:
            self._made[name] = KINDS[name](ids=self.ids)
        return self._made[name]

    def resolve(self, name, platform, rule: str, target: str) -> Toolchain:
        """The toolchain `name` for `platform`, checked usable; 'auto' prefers zig, then musl-gcc on the host."""
        if not isinstance(name, str):
            if isinstance(name, Toolchain):
                name.check_platform(platform, rule, target)
                return name
            raise RuleError(rule, target, f"toolchain must be a name or a toolchain object, not {type(name).__name__}")
        if name == "auto":
            reasons = []
            for candidate in ("zig", "musl-gcc"):
                tc = self.get(candidate)
                why = tc.missing()
                if why is None and candidate == "musl-gcc" and not platform.is_host():
                    why = f"musl-gcc builds only for the host, not {platform}"
                if why is None:
                    return tc
                reasons.append(f"{candidate}: {why}")
            raise RuleError(rule, target, f"no toolchain can build for {platform}: " + "; ".join(reasons),
                            "pip install ziglang")
        if name not in KINDS:
            raise RuleError(rule, target, f"unknown toolchain {name!r}", f"use one of {', '.join(NAMES)}")
        tc = self.get(name)
        why = tc.missing()
        if why:
            raise RuleError(rule, target, f"toolchain '{name}' is not usable: {why}")
        tc.check_platform(platform, rule, target)
        return tc
