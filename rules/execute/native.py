"""Runs a Command as a subprocess on this machine, with a minimal, explicit environment."""
import os
import subprocess


class NativeExecutor:
    name = "native"

    def run(self, command, passenv):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(passenv)
        env.update(command.env)
        proc = subprocess.run(list(command.argv), cwd=command.cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout.decode(errors="replace")
