"""Executing Steps: perform.py runs one (prechecks, cache, commands, outputs, verify, publish); an executor
decides only where a command runs (native.py: this machine; container.py: a builder container)."""
from typing import Dict, Optional, Protocol, Tuple

from .native import NativeExecutor
from .perform import perform


class Executor(Protocol):
    """Where commands run. `who` (rule, target) is named in any error the executor itself raises."""

    name: str

    def run(self, command, passenv: Dict[str, str], who: Optional[Tuple[str, str]] = None) -> Tuple[int, str]:
        """(exit status, negative for a signal; combined output) of one Command (or Call, native only)."""
        ...

    def close(self) -> None:
        """Release what outlives a command (a builder container); called once at the end of the run."""
        ...


__all__ = ["Executor", "NativeExecutor", "perform"]
