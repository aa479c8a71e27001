"""Actions: what a target's build runs, as plain data (step.py), and one pure function per kind of command
(commands.py). Nothing here touches SCons, the file system or a process: execute/ does."""
from .step import Call, Caching, Command, Outputs, Step, Verification, tmp_of

__all__ = ["Call", "Caching", "Command", "Outputs", "Step", "Verification", "tmp_of"]
