"""Runs a Command as a subprocess on this machine, with a minimal, explicit environment.

The command is marked with this run's id and dies with scons (parent-death signal through util-linux's
setpriv, where the machine has it): a killed build leaves no compiler writing on (run.py stops the rest).
"""
import os
import shutil
import subprocess

from .run import MARK, RUN_ID

_SETPRIV = shutil.which("setpriv")


class NativeExecutor:
    name = "native"

    def run(self, command, passenv, who=None):
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
