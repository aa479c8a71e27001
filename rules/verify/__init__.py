"""The verifier: reads ELF files and archives (elf.py, archive.py) and judges them (checks.py)."""
from .errors import MalformedInput
from .policy import Policy

_LAZY = ("Report", "verify_bytes", "verify_file")


def __getattr__(name):
    """The checks (and pyelftools under them) load when first used, not when a rule is declared."""
    if name in _LAZY:
        from . import checks
        return getattr(checks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Policy", "Report", "verify_bytes", "verify_file", "MalformedInput"]
