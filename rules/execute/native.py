"""Runs a Command as a subprocess on this machine, with a minimal, explicit environment; runs a Call in-process.

The command is marked with this run's id and dies with scons (parent-death signal through util-linux's
setpriv, where the machine has it): a killed build leaves no compiler writing on (run.py stops the rest).
"""
import importlib
import os
import shutil
import subprocess

from ..actions import Call
from .run import MARK, RUN_ID
from .slots import Slots

_SETPRIV = shutil.which("setpriv")


def process_env(*parts) -> dict:
    """A command's whole environment: PATH, then `parts` in order, then this run's mark."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for part in parts:
        env.update(part)
    env[MARK] = RUN_ID
    return env


def dies_with_scons(argv) -> list:
    """`argv` run under setpriv's parent-death signal, where the machine has it."""
    return ([_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []) + list(argv)


def run_call(call, executor, passenv, who):
    """A Call's function does its work (on this machine, whatever the executor) or raises RuleError with its stated
    cause (passed on as it is); one that runs commands runs them through `executor`. A function that reports on
    a command (Call.reports) returns that command's (exit status, output)."""
    module, _, function = call.function.partition(":")
    kwargs = {}
    if call.runs_commands:
        kwargs = {"run": lambda command: executor.run(command, passenv, who), "who": who}
    if call.scanned:
        kwargs["slots"] = executor.slots
    result = getattr(importlib.import_module(module), function)(*call.args, **kwargs)
    return result if call.reports is not None else (0, "")


class NativeExecutor:
    name = "native"

    def __init__(self, slots=None):
        self.slots = slots or Slots(1)  # the run's job slots, for Calls that run commands side by side

    def run(self, command, passenv, who=None):
        if isinstance(command, Call):
            return run_call(command, self, passenv, who)
        proc = subprocess.run(dies_with_scons(command.argv), cwd=command.cwd, env=process_env(passenv, command.env),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout.decode(errors="replace")

    def close(self):
        """Nothing outlives a command here."""
