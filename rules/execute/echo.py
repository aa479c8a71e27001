"""--subcommands (Bazel's name): every command a step runs, printed before it runs, ready to paste into a shell.

One wrapper serves every executor: it sees each Command, including those a Call runs through it (the `go list`
before a cgo link), and hands it to the real executor. The line holds the environment the command gets from
the build (tool caches, CC, CGO_* flags), not the user's own PATH or HOME.
"""
from ..actions import Call
from .native import run_call


class Echoing:
    def __init__(self, executor, emit, config):
        self.executor = executor
        self.slots = executor.slots
        self.name = executor.name
        self.emit = emit
        self.config = config

    def run(self, command, passenv, who=None):
        if isinstance(command, Call):
            self.emit(f"sconsrules: [{self.config}] in-process: {command.function}")
            return run_call(command, self, passenv, who)
        where = "" if self.name == "native" else f" (in the {self.name} executor's builder container)"
        self.emit(f"sconsrules: [{self.config}] command{where}:\n  {command.render(passenv)}")
        return self.executor.run(command, passenv, who)

    def close(self):
        self.executor.close()
