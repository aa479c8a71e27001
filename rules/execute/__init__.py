"""Executing Steps: perform.py runs one (prechecks, cache, commands, outputs, verify, publish); an executor
decides only where a command runs (native.py: this machine; container.py: a builder container)."""
from .native import NativeExecutor
from .perform import perform

__all__ = ["NativeExecutor", "perform"]
