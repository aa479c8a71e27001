"""The archives and objects a cgo link takes from Go packages' own `#cgo LDFLAGS` (a module's prebuilt
libzstd_linux_amd64.a, libduckdb.a), found with `go list -deps` in the step's executor and verified like cdeps
before the link's output is taken: a glibc-built or C++-mismatched archive is named with its module, not met as
a wall of undefined symbols or, worse, linked silently (lld drops dead references to glibc-only symbols).
"""
import json
import os
import threading

from ..actions.commands import KEPT_LISTING_SUFFIX, LINK_LIST_MARK as MARK, LINK_LIST_SEP as SEP, Listed
from ..errors import RuleError
from ..verify import MalformedInput, verify_file
from .manifest import compile_object
from .perform import emit
from .run import write_atomic


def link_inputs(flags, directory):
    """Files a package's link flags name: *.a and *.o paths, and -l names found as lib<name>.a in its -L dirs
    (other -l names are the C library's or the system's: the final link and the verifier judge those)."""
    dirs, files = [], []
    for flag in flags:
        if flag.startswith("-L") and len(flag) > 2:
            dirs.append(os.path.join(directory, flag[2:]))
    for flag in flags:
        if flag.endswith((".a", ".o")) and not flag.startswith("-"):
            files.append(os.path.join(directory, flag))
        elif flag.startswith("-l") and len(flag) > 2:
            candidates = (os.path.join(d, f"lib{flag[2:]}.a") for d in dirs)
            files += [path for path in candidates if os.path.isfile(path)][:1]
    return [os.path.normpath(f) for f in files]


def parse(output):
    """(whether any package imports "C", [(import path, module, directory, flags)] of packages with link flags)."""
    found, cgo = [], False
    for line in output.splitlines():
        if not line.startswith(MARK + " "):
            continue
        fields = line[len(MARK) + 1:].split("\t")
        cgo = cgo or fields[0] == "cgo"
        if len(fields) == 5:
            found.append((fields[1], fields[2], fields[3], [f for f in fields[4].split(SEP) if f]))
    return cgo, found


def module_c_files(output):
    """[(import path, module@version, directory, [file names])] of the cgo packages of required modules: the C
    a module compiles itself, which the dependency manifest records."""
    found = []
    for line in output.splitlines():
        if line.startswith(MARK + "-C\t"):
            fields = line.split("\t")
            if len(fields) == 5:
                found.append((fields[1], fields[2], fields[3], [f for f in fields[4].split(SEP) if f]))
    return found


def _listed(listing, policy, config, cdeps, *, run, who):
    """Run `listing` (go list) through the step's executor and verify every archive and object it names; warn
    about unused cdeps. Returns the C that required modules compile or link, for the dependency manifest (none,
    when the listing was answered at read time: Listed)."""
    if isinstance(listing, Listed):
        _warn_unused(cdeps, listing.cgo, config, who)
        return []
    code, output = run(listing)
    if code != 0:
        lines = [line for line in output.splitlines() if not line.startswith(MARK)]
        raise RuleError(*who, f"[{config}] go list failed (exit {code}): {' '.join(lines[-3:])[:500]}",
                        "the same error would stop go build: fix the package or its go.mod")
    cgo, packages = parse(output)
    _warn_unused(cdeps, cgo, config, who)
    for import_path, module, directory, flags in packages:
        for path in link_inputs(flags, directory):
            where = f"module {module or import_path}: {os.path.relpath(path, directory)}"
            if not os.path.isfile(path):
                continue  # go build names a missing file itself
            try:
                report = verify_file(path, policy)
            except MalformedInput as exc:
                raise RuleError(*who, f"[{config}] {where}: {exc}") from None
            if not report.ok:
                # The root cause first: the wrong machine, then the wrong libc, then the rest (C++ runtime...).
                first = sorted(report.failures, key=lambda f: ("identity" not in f.check, "glibc" not in f.check))[0]
                more = f" (+{len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
                raise RuleError(*who, f"[{config}] {where}, linked by its #cgo LDFLAGS, fails verification: "
                                f"{first.check}: {first.reason}: {first.evidence}{more}",
                                "a prebuilt archive must be a musl build for this platform: see whether the module "
                                "offers one under another build tag (`musl` is on by default), or build the library "
                                "from source with ForeignCLib")
    modules = module_c_files(output)
    for import_path, module, directory, flags in packages:
        if "@" in module:
            modules.append((import_path, module, directory, [os.path.relpath(p, directory)
                                                             for p in link_inputs(flags, directory)
                                                             if os.path.isfile(p)]))
    return [[i, m, d, list(names)] for i, m, d, names in modules]  # as kept (JSON), to compare


def _warn_unused(cdeps, cgo, config, who):
    if cdeps and not cgo:
        emit(f"sconsrules: warning: {who[0]} '{who[1]}': [{config}] cdeps {', '.join(cdeps)} are unused: no package "
             "of this build imports \"C\" (hint: remove them, or call them from cgo code)")


def _make_manifest(manifest, modules, *, run, who):
    """The dependency manifest's object from `manifest` (execute/manifest.py:compile_object's arguments) and the
    modules' C a listing found, kept beside it: the next link starts from it."""
    compile_object(*manifest, modules=modules, run=run, who=who)
    write_atomic(manifest[-1] + KEPT_LISTING_SUFFIX, json.dumps(modules))


def _kept(manifest):
    """The modules' C the last listing found, or None when there is no well-formed record of it."""
    try:
        with open(manifest[-1] + KEPT_LISTING_SUFFIX, "rb") as fh:
            kept = json.loads(fh.read(1 << 20))
    except (OSError, ValueError):
        return None
    valid = isinstance(kept, list) and all(
        isinstance(entry, list) and len(entry) == 4 and all(isinstance(f, str) for f in entry[:3])
        and isinstance(entry[3], list) and all(isinstance(n, str) for n in entry[3]) for entry in kept)
    return kept if valid else None


def link(listing, policy, config, cdeps, manifest, build, *, run, who):
    """The cgo link, with `go list` beside it instead of before it (the listing is off a relink's critical
    path): the manifest object is made from the modules' C that the last listing found, and `build` runs while
    the listing runs and its archives are verified. The link's output is taken only when both are done: a
    failed check is the step's error (before the link's own), and a listing that finds other modules' C than
    the one the manifest was made from makes the manifest again and links again. The first link of a binary,
    with nothing kept, checks first; a listing answered at read time (Listed) runs no `go list` at all. Returns
    go build's (exit status, output)."""
    kept = None if isinstance(listing, Listed) else _kept(manifest)
    if kept is None:
        _make_manifest(manifest, _listed(listing, policy, config, cdeps, run=run, who=who), run=run, who=who)
        return run(build)
    compile_object(*manifest, modules=kept, run=run, who=who)
    listed: dict = {}

    def listing_thread():
        try:
            listed["modules"] = _listed(listing, policy, config, cdeps, run=run, who=who)
        except BaseException as exc:  # raised in the step's own thread below
            listed["error"] = exc

    thread = threading.Thread(target=listing_thread, name="sconsrules-go-list", daemon=True)
    thread.start()
    result = run(build)
    thread.join()
    if "error" in listed:
        raise listed["error"]
    if listed["modules"] != kept:
        _make_manifest(manifest, listed["modules"], run=run, who=who)
        if result[0] == 0:  # a failed link fails again: the manifest decides no link's success
            result = run(build)
    return result
