"""Making a binary's dependency manifest (verify/manifest.py has the format): the record, from the components
its cdeps carry and the files they name (digested now), as a C object the toolchain compiles, linked by cgo.
"""
import hashlib
import os

from ..actions import Command
from ..errors import RuleError
from ..verify.manifest import SECTION, encode
from .tree import file_sha256


def _sources_digest(paths, base):
    lines = sorted(f"{file_sha256(p)}  {os.path.relpath(p, base)}\n" for p in paths)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _library(component, root):
    entry = {"kind": component.kind, "name": component.name}
    for key, value in component.facts:
        entry[key] = list(value) if isinstance(value, tuple) else value
    if component.files:
        base = os.path.commonpath(list(component.files)) if component.kind == "ForeignCLib" else root
        entry["sources_sha256"] = _sources_digest(component.files, base if os.path.isdir(base) else root)
    if component.archives_in:
        found = []
        for top, _, names in os.walk(component.archives_in):
            found += [os.path.join(top, n) for n in names if n.endswith(".a")]
        entry["archives"] = sorted(({"name": os.path.basename(p), "sha256": file_sha256(p)} for p in found),
                                   key=lambda a: (a["name"], a["sha256"]))
    return entry


def record(components, facts, root):
    return dict(dict(facts), format=1, libraries=[_library(c, root) for c in components])


def c_source(data: bytes) -> str:
    body = ",".join(str(b) for b in data)
    return (f'__attribute__((section("{SECTION}"), used, retain, aligned(1)))\n'
            f"static const unsigned char sconsrules_deps[{len(data)}] = {{{body}}};\n")


def compile_object(components, facts, root, cc, out, *, run, who):
    """Write the manifest's C file beside `out` and compile it there with the toolchain's `cc`."""
    source = os.path.splitext(out)[0] + ".c"
    with open(source, "w") as fh:
        fh.write(c_source(encode(record(components, facts, root))))
    try:
        code, output = run(Command(list(cc) + ["-Wno-unknown-attributes", "-Wno-attributes", "-c", source, "-o", out]))
    finally:
        os.remove(source)
    if code != 0:
        raise RuleError(*who, f"compiling the dependency manifest failed (exit {code}): {output.strip()[-300:]}")
