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

_SETPRIV = shutil.which("setpriv")


def run_call(call, executor, passenv, who):
    """A Call's function does its work (on this machine, whatever the executor) or raises RuleError with its stated
    cause (passed on as it is); one that runs commands runs them through `executor`."""
    module, _, function = call.function.partition(":")
    kwargs = {}
    if call.runs_commands:
        kwargs = {"run": lambda command: executor.run(command, passenv, who), "who": who}
    getattr(importlib.import_module(module), function)(*call.args, **kwargs)
    return 0, ""


class NativeExecutor:
    name = "native"

    def run(self, command, passenv, who=None):
        if isinstance(command, Call):
            return run_call(command, self, passenv, who)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(passenv)
        env.update(command.env)
        env[MARK] = RUN_ID
        argv = list(command.argv)
        if _SETPRIV:
            argv = [_SETPRIV, "--pdeathsig", "KILL", "--"] + argv
        proc = subprocess.run(argv, cwd=command.cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout.decode(errors="replace")

    def close(self):
        """Nothing outlives a command here."""
