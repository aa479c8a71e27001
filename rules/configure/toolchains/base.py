"""What every C toolchain provides: the commands of a configuration, an identity for signatures, and what it is.

Toolchains are data plus a few methods. They never run anything themselves (the executor does), so the same
command lines serve a native build and a container build. Rules ask a toolchain what it is (`executor`,
`prefetch_modules`, `host_libraries`, `cache_dirs`) instead of testing its type.
"""
from typing import ClassVar, Dict, List, Optional, Tuple

import attrs

from ...errors import RuleError
from ..identity import ToolIdentities


@attrs.frozen
class DebugLink:
    """A split-debug link's setting (execute/debuginfo.py): `env` for the link, `directory` the fixed-length
    directory its DWARF may name, rewritten to `canonical`; the warm-up links a cgo program from `warm_dir`
    once, recorded by `mark`, with zig's `lib` dir linked into `directory`."""

    env: Tuple[Tuple[str, str], ...]
    directory: str
    canonical: str
    lib: str
    warm_dir: str
    mark: str


@attrs.frozen
class Toolchain:
    """Base of the C toolchains; subclasses fill in the commands."""

    name = "base"  # a subclass may make it a field (a container toolchain's name is given)
    executor: ClassVar[str] = "native"  # "native": commands run on this machine; "container": in its image
    prefetch_modules: ClassVar[bool] = False  # Go modules are downloaded by a step of their own (no network in builds)
    host_libraries: ClassVar[bool] = True  # links against libraries of this machine (their listing is an input)
    ids: ToolIdentities = attrs.field(factory=ToolIdentities, eq=False, hash=False, repr=False, kw_only=True)

    def check_platform(self, platform, rule: str, target: str) -> None:
        """Raise a RuleError when this toolchain cannot build for `platform`."""

    def cc(self, platform) -> List[str]:
        """argv prefix of the C compiler driver for `platform` (also Go's CC)."""
        raise NotImplementedError

    def cxx(self, platform) -> Optional[List[str]]:
        """argv prefix of the C++ compiler driver, or None when this toolchain has no C++ (`cxx_missing` says why)."""
        return None

    def cxx_missing(self) -> str:
        return f"toolchain '{self.name}' has no C++ compiler"

    def cxx_runtime(self) -> Optional[str]:
        """The C++ standard library its links use ("libc++", "libstdc++"), or None without C++."""
        return None

    def cxx_link_flags(self, platform) -> List[str]:
        """What a link through the C driver needs to pull in the C++ runtime statically."""
        return []

    def first_use(self, platform) -> Optional[str]:
        """What to say before this toolchain's first work for `platform` on this machine, when that work is slow
        once (zig compiles musl's libc per target); None when nothing is."""
        return None

    def prefix_map_flags(self) -> List[str]:
        """-ffile-prefix-map flags naming this toolchain's install directories in debug info and __FILE__."""
        return []

    def libc_variant_flags(self, strip: bool) -> List[str]:
        """Flags for links that are not the final one (cgo's `_cgo_.o`, configure's probes) so that they ask
        for the libc the final link uses, where the toolchain builds its libc on demand."""
        return []

    def dwarf_allowed(self) -> Tuple[str, ...]:
        """Absolute path prefixes this toolchain's own libraries name in their DWARF, the same on every machine."""
        return ()

    def split_debug_missing(self) -> Optional[str]:
        """Why this toolchain cannot make split debug files, or None when it can."""
        return None

    def debug_link(self, platform, cxx: bool) -> Optional["DebugLink"]:
        """What a split-debug link needs so that its DWARF is the same on every machine, or None when nothing
        (a libc without DWARF, as distributions ship musl's libc.a)."""
        return None

    def used(self, platform) -> None:
        """A link for `platform` succeeded: its once-per-machine work is done."""

    def warm_up(self, platform, strip: bool, cxx: bool, out: str) -> Optional[List[str]]:
        """argv of a link, into `out`, of an empty program read from stdin that makes this toolchain's
        once-per-machine work for links like the declared ones (`strip`, with C++); None when there is none."""
        return None

    def ar(self, platform) -> List[str]:
        """argv prefix of the archiver (`ar`); deterministic mode is asked for by its callers."""
        raise NotImplementedError

    def ranlib(self, platform) -> List[str]:
        return ["ranlib"]

    def default_copts(self, platform) -> List[str]:
        """Flags before the user's copts. -O2: zig's no-opt default is Debug with UBSan traps (SIGILL at run time)."""
        return ["-O2"]

    def env(self, platform) -> Dict[str, str]:
        """Environment variables the compiler needs (caches), passed through, not part of signatures."""
        return {}

    def identity(self) -> str:
        """A string that changes whenever the toolchain could produce different bytes."""
        raise NotImplementedError

    def sources(self) -> tuple:
        """Nodes every step in this toolchain depends on (a built image's ID file)."""
        return ()

    def go_sdk(self):
        """The Go inside this toolchain, or None to use the host's `go` (env["GO"])."""
        return None

    def install_dirs(self) -> Tuple[Tuple[str, str], ...]:
        """(directory, name) of where the toolchain is installed: its identity says which tool it is, so shared
        cache keys write the name instead (two machines with the tool at different paths share entries)."""
        return ()

    def cache_dirs(self) -> Tuple[str, ...]:
        """Directories of this machine the toolchain writes its caches to (never to appear in an artifact)."""
        return ()

    def prepare(self) -> None:
        """Make what the commands need on this machine; called at build time, once per run, never when reading."""

    def missing(self) -> Optional[str]:
        """None when usable, otherwise the reason it is not."""
        return None


def host_only(toolchain: Toolchain, platform, rule: str, target: str) -> None:
    if not platform.is_host():
        raise RuleError(
            rule, target,
            f"toolchain '{toolchain.name}' builds only for the host, not {platform}",
            "use toolchain='zig' (any architecture) or a container toolchain for cross builds",
        )
