"""What every C toolchain provides: the commands of a configuration, and an identity for signatures.

Toolchains are data plus a few methods. They never run anything themselves (the executor does), so
the same command lines serve a native build and, later, a container build.
"""
import attrs

from ..errors import RuleError


@attrs.frozen
class Toolchain:
    """Base of the C toolchains; subclasses fill in the commands."""

    name = "base"

    def check_platform(self, platform, rule, target):
        """Raise a RuleError when this toolchain cannot build for `platform`."""

    def cc(self, platform):
        """argv prefix of the C compiler driver for `platform` (also Go's CC)."""
        raise NotImplementedError

    def ar(self, platform):
        """argv prefix of the archiver (`ar`); deterministic mode is asked for by its callers."""
        raise NotImplementedError

    def ranlib(self, platform):
        return ["ranlib"]

    def default_copts(self, platform):
        """Flags before the user's copts. -O2: zig's no-opt default is Debug with UBSan traps (SIGILL at run time)."""
        return ["-O2"]

    def env(self, platform):
        """Environment variables the compiler needs (caches), passed through, not part of signatures."""
        return {}

    def identity(self):
        """A string that changes whenever the toolchain could produce different bytes."""
        raise NotImplementedError

    def sources(self):
        """Nodes every step in this toolchain depends on (a built image's ID file)."""
        return ()

    def go_sdk(self):
        """The Go inside this toolchain, or None to use the host's `go` (env["GO"])."""
        return None

    def missing(self):
        """None when usable, otherwise the reason it is not."""
        return None


def host_only(toolchain, platform, rule, target):
    if not platform.is_host():
        raise RuleError(
            rule, target,
            f"toolchain '{toolchain.name}' builds only for the host, not {platform}",
            "use toolchain='zig' (any architecture) or a container toolchain for cross builds",
        )
