"""build/compile_commands.json: every C and C++ compile of the configurations a run declares, for clangd and
other tools (clangd finds it in `build/` without being told). StaticCLib compiles as they run; the C and C++
files of Go packages as cgo compiles them (the toolchain's compiler with CGO_CPPFLAGS and CGO_CFLAGS, and the
package's directory on the include path; `#cgo CFLAGS` lines in Go files are not read); and the compiles of
foreign builds whose build system exports them (cmake), read from their install trees (the file is written again
after each such build, rather than waiting for it: steps upstream of a foreign build require the file too), with
the scratch copy's paths pointed at the pristine source and the wrapper replaced by the compiler it runs (files
the build generated in its scratch build directory are gone: entries may name headers that no longer exist).

The file is an SCons node like any output: its content is rendered when the build starts, after every SConscript
has declared its compiles, and it is rewritten only when that content changes. Every step requires it (order
only: a change of the file rebuilds nothing else).
"""
import json
import os
import shlex
import sys
import threading
from typing import Dict, List, NamedTuple

import SCons.Action

from .actions.commands import EXPORTED_COMPILE_COMMANDS, SOURCE_PLACEHOLDER, WRAPPER_DIR
from .execute.run import write_atomic

NAME = "compile_commands.json"


MAX_EXPORTED = 64 << 20  # bytes of one foreign build's exported commands read at most


def _render(entries) -> str:
    """One entry per line, sorted: read by SCons (its content signature) in every build, so it is made with
    json's C encoder (an indented dump takes the pure-Python one: ~30 ms per 1,000 entries)."""
    keyed = {json.dumps(e, sort_keys=True): (e["file"], e.get("output", ""), e["arguments"]) for e in entries}
    return "[\n" + ",\n".join(sorted(keyed, key=keyed.__getitem__)) + "\n]\n"


class _Rendered:
    """The JSON text of a build directory's entries, read by SCons when it first needs the content."""

    def __init__(self, entries):
        self.entries = entries
        self._text = (-1, "")

    def __str__(self):
        """Made again only when entries were added since (they are only ever appended): SCons asks for it when
        the node is made (its name), then several times once every rule is read."""
        if self._text[0] != len(self.entries):
            self._text = (len(self.entries), _render(self.entries))
        return self._text[1]


class ForeignExport(NamedTuple):
    """Where a foreign build leaves its exported commands, and what to put back in them."""

    tree: str  # the install tree (its EXPORTED_COMPILE_COMMANDS, if the build system wrote one)
    source_dir: str  # the pristine source the scratch copy was made from
    compilers: Dict[str, List[str]]  # wrapper name (cc, c++) -> the compiler's argv


def _exported(export: ForeignExport) -> list:
    """The entries of one foreign build, made absolute against its source; an unreadable or malformed file (the
    build system's output: not trusted) yields none, with one warning."""
    path = os.path.join(export.tree, EXPORTED_COMPILE_COMMANDS)
    if not os.path.isfile(path):
        return []
    try:
        if os.path.getsize(path) > MAX_EXPORTED:
            raise ValueError(f"larger than {MAX_EXPORTED >> 20} MB")
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if not isinstance(raw, list):
            raise ValueError("not a JSON list")
        return [_absolute(entry, export) for entry in raw]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        sys.stdout.write(f"sconsrules: warning: {path}: exported compile commands ignored ({exc})\n")
        return []


def _absolute(entry: dict, export: ForeignExport) -> dict:
    def fill(text):
        if not isinstance(text, str):
            raise TypeError("an entry's fields must be strings")
        return text.replace(SOURCE_PLACEHOLDER, export.source_dir)

    arguments = entry["arguments"] if "arguments" in entry else shlex.split(fill(entry["command"]))
    arguments = [fill(a) for a in arguments]
    wrapper = os.path.basename(arguments[0]) if arguments else ""
    if os.path.dirname(arguments[0]).endswith(WRAPPER_DIR) and wrapper in export.compilers:
        arguments = list(export.compilers[wrapper]) + arguments[1:]
    made = {"directory": export.source_dir, "file": os.path.join(export.source_dir, fill(entry["file"])),
            "arguments": arguments}
    if "output" in entry:
        made["output"] = fill(entry["output"])
    return made


def _write(target, source, env):
    from .context import Context  # the context module builds on this one

    Context.of(env).compile_commands.write(os.path.dirname(target[0].abspath))
    return 0


WRITE = SCons.Action.Action(_write, lambda target, source, env: None)


class CompileCommands:
    def __init__(self):
        self._entries = {}
        self._nodes = {}
        self._exports: Dict[str, List[ForeignExport]] = {}
        self._lock = threading.Lock()

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

    def add_foreign(self, build, export: ForeignExport):
        """A foreign build whose exported commands join the file: whatever its install tree holds when the file
        is written, and again once the build has put its tree in place (`write` after the step)."""
        self._exports.setdefault(build, []).append(export)

    def write(self, build):
        """The file for `build`: the declared compiles and the exports found on disk now."""
        with self._lock:
            entries = list(self._entries.get(build, ()))
            for export in self._exports.get(build, ()):
                entries += _exported(export)
            write_atomic(os.path.join(build, NAME), _render(entries))
