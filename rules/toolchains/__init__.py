"""The C toolchains by name, and how 'auto' chooses among them."""
from ..errors import RuleError
from .muslgcc import MuslGccToolchain
from .zig import ZigToolchain

KINDS = {"zig": ZigToolchain, "musl-gcc": MuslGccToolchain}
NAMES = ("auto",) + tuple(KINDS)
_instances = {}


def get(name):
    if name not in _instances:
        _instances[name] = KINDS[name]()
    return _instances[name]


def resolve(name, platform, rule, target):
    """The toolchain `name` for `platform`, checked usable; 'auto' prefers zig, then musl-gcc on the host."""
    if not isinstance(name, str):
        if hasattr(name, "cc") and hasattr(name, "identity"):
            tc = name
            tc.check_platform(platform, rule, target)
            return tc
        raise RuleError(rule, target, f"toolchain must be a name or a toolchain object, not {type(name).__name__}")
    if name == "auto":
        reasons = []
        for candidate in ("zig", "musl-gcc"):
            tc = get(candidate)
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
    tc = get(name)
    why = tc.missing()
    if why:
        raise RuleError(rule, target, f"toolchain '{name}' is not usable: {why}")
    tc.check_platform(platform, rule, target)
    return tc
