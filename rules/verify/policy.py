"""What a file must be (platform, link, libc, strip...) and the checks relaxed with a stated reason. Apart from
the checks so that declaring a rule does not load the ELF readers."""
from typing import Optional

import attrs

from ..configure.platform import Platform

# Every check's stable id (what `verify=` relaxes and reports name).
CHECK_IDS = (
    "identity.class", "identity.endian", "identity.machine", "identity.code", "type.executable", "type.header", "link.interp", "link.needed",
    "link.static", "libc", "libc.nss", "stripped", "hardening.gnu-stack", "hardening.wx", "hardening.relocs",
    "go.buildinfo", "go.cgo", "go.goos", "go.goarch", "go.trimpath", "leaks.strings", "leaks.dwarf",
    "archive.members", "archive.member-elf", "archive.member-type", "archive.deterministic", "archive.glibc-refs",
    "object.glibc-refs", "archive.cxx-runtime", "object.cxx-runtime",
)


@attrs.frozen
class Policy:
    platform: Optional[Platform] = None
    static: bool = True
    libc: str = "musl"  # the libc required; "any" accepts all
    stripped: bool = False
    go: bool = False  # a Go binary: build info must be present
    cgo: bool = False  # built with cgo: CGO_ENABLED=1
    trimpath: bool = False  # built with -trimpath
    leak_paths: tuple = ()  # absolute directories of the build machine that must not appear
    leak_dwarf: bool = True  # also search DWARF (an unstripped build keeps toolchain paths there)
    relax: tuple = ()  # (check id, reason) pairs
    # The C++ runtime the link will use ("libc++" for zig): code compiled against another cannot link with it.
    # Fields added after the first release carry `since`: at their default they leave Step signatures as they were.
    cxx_runtime: Optional[str] = attrs.field(default=None, metadata={"since": "0.2"})
    # Absolute path prefixes the DWARF may name besides verify/checks.py:DWARF_ALLOWED (a distribution's build
    # directory in its libc.a).
    dwarf_allow: tuple = attrs.field(default=(), metadata={"since": "0.3"})

    def relaxed(self, check):
        return dict(self.relax).get(check)
