"""build/compile_commands.json: every C and C++ compile of the configurations a run declares, for clangd and
other tools (clangd finds it in `build/` without being told). StaticCLib compiles as they run; the C and C++
files of Go packages as cgo compiles them (the toolchain's compiler with CGO_CPPFLAGS and CGO_CFLAGS, and the
package's directory on the include path; `#cgo CFLAGS` lines in Go files are not read).

The file is an SCons node like any output: its content is rendered when the build starts, after every SConscript
has declared its compiles, and it is rewritten only when that content changes. Every step requires it (order
only: a change of the file rebuilds nothing else).
"""
import json
import os

import SCons.Action

from .execute.run import write_atomic

NAME = "compile_commands.json"


class _Rendered:
    """The JSON text of a build directory's entries, read by SCons when it first needs the content."""

    def __init__(self, entries):
        self.entries = entries

    def __str__(self):
        unique = {json.dumps(e, sort_keys=True): e for e in self.entries}
        ordered = sorted(unique.values(), key=lambda e: (e["file"], e.get("output", ""), e["arguments"]))
        return json.dumps(ordered, indent=1, sort_keys=True) + "\n"


def _write(target, source, env):
    write_atomic(target[0].abspath, source[0].get_text_contents())
    return 0


WRITE = SCons.Action.Action(_write, lambda target, source, env: None)


class CompileCommands:
    def __init__(self):
        self._entries = {}
        self._nodes = {}

    def node(self, env, build):
        """The file's node for the build directory `build` (made on first use)."""
        if build not in self._nodes:
            self._entries[build] = []
            value = env.Value(_Rendered(self._entries[build]))
            self._nodes[build] = env.Command(os.path.join(build, NAME), value, WRITE)[0]
        return self._nodes[build]

    def add(self, env, build, source, arguments, output=None, directory=None):
        self.node(env, build)
        entry = {"directory": directory or env.Dir("#").abspath, "file": source, "arguments": list(arguments)}
        if output:
            entry["output"] = output
        self._entries[build].append(entry)
