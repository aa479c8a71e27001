"""A StaticCLib's members, compiled by the library's own step: SCons schedules one node per library, not one
per object.

Each node SCons schedules costs the build's one Python thread about a millisecond (its walk, its signatures,
its bookkeeping), which is what kept a cold build of many small C files well above the same commands run from
a shell. So the archive step compiles the members that are out of date, side by side in free job slots
(slots.py), then archives them all.

A member is up to date when the key kept for its object still matches: the compile command, the toolchain's
identity, the digest of its source and of every file SCons's C scanner found from it (so a header now found
earlier in the include path counts; the compile gets that digest as a define, for zig's cache), and those of
the step's inputs every member reads (response files, a container image's ID). The record and the kept objects are only a guess: a record of another shape is ignored,
and an object is used only while its bytes still have the digest recorded when it was made. The archive is
verified whole, as any step's output, before it takes its name.
"""
import hashlib
import json
import os
import threading

import attrs
import SCons.Action

from ..actions.commands import inputs_define
from ..errors import RuleError
from .perform import emit, judge_exit
from .run import run_tmp, write_atomic
from .tree import remove

RECORD_VERSION = 1


def _key(command, identity, own, shared):
    return hashlib.sha256(repr((command.signed(), identity, own, shared)).encode()).hexdigest()


def _kept(path):
    """The record of the members made before, or {} when it is missing or not of the shape written here."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION or not isinstance(data.get("members"), dict):
        return {}
    return {obj: entry for obj, entry in data["members"].items()
            if isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("digest"), str)}


def _digest(path):
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _marked(command, scanned):
    """The compile with a define naming what was scanned from its source: zig's own object cache keys a compile
    on the files it read last time, so after a new header shadows one of them (an earlier -I) it would return
    the old object; the define makes that a miss. It changes no byte of the object."""
    return attrs.evolve(command, argv=command.argv + (inputs_define((scanned or "-")[:16]),))


def sorted_out(members, record, identity, shared, inputs):
    """(the kept entries of the members that are up to date, by object; the members to compile, each with its
    key). `inputs`: the digest of each of the step's sources and what was scanned from it, by path."""
    kept, common = _kept(record), [inputs.get(path) for path in shared]
    made, stale = {}, []
    for shown, source, obj, command in members:
        key = _key(command, identity, inputs.get(source), common)
        entry = kept.get(obj)
        if entry is not None and entry["key"] == key and _digest(obj) == entry["digest"]:
            made[obj] = entry
        else:
            stale.append((shown, obj, command, key, inputs.get(source)))
    return made, stale


def to_compile(args, inputs):
    """The members (as shown) a library's step with Call arguments `args` (commands.library_build's, which
    archive_library takes) would compile: what a dry run names."""
    members, _, record, identity, _, shared = args
    return [shown for shown, *_ in sorted_out(members, record, identity, shared, inputs)[1]]


def archive_library(members, archive, record, identity, config, shared, inputs, *, run, who, slots):
    """Compile the out-of-date `members` ((source as shown, source, object, compile Command writing
    `<object>.sconsrules-tmp`) each), then run `archive`; its (exit status, output). `shared`: the paths of the
    step's inputs that every member reads; `inputs`: given at run time (Call.scanned)."""
    made, stale = sorted_out(members, record, identity, shared, inputs)
    lock = threading.Lock()

    def compile_(shown, obj, command, key, scanned):
        if SCons.Action.print_actions:
            emit(f"{who[0]} {who[1]}: compile {shown} [{config}]")
        declared = obj + ".sconsrules-tmp"
        tmp = run_tmp(declared)
        remove(obj)
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        try:
            code, output = run(_marked(command.at_run_time(rename=(declared, tmp)), scanned))
            if output.strip():
                emit(output.rstrip("\n"))
            judge_exit(code, output, f"compile {shown}", command, None,
                       lambda cause, hint=None: RuleError(*who, f"[{config}] {cause}", hint))
            digest = _digest(tmp)
            if digest is None:
                raise RuleError(*who, f"[{config}] compile {shown} did not produce {os.path.basename(obj)}")
            os.replace(tmp, obj)
            with lock:
                made[obj] = {"key": key, "digest": digest}
        finally:
            remove(tmp)

    try:
        slots.side_by_side([lambda m=m: compile_(*m) for m in stale])
    finally:
        if stale:
            ordered = {obj: made[obj] for _, _, obj, _ in members if obj in made}
            write_atomic(record, json.dumps({"version": RECORD_VERSION, "members": ordered}, indent=0))
    return run(archive)
