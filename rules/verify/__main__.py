"""`python -m sconsrules.verify` / `sconsrules-verify`: the in-build checks, on any file found later (a server,
a release), with a line per file that says what it is, so that a binary of another architecture is never
silently "fine". `-h` lists the checks and the exit codes."""
import argparse
import json
import os
import sys

from ..configure.platform import Platform
from .checks import verify_file
from .policy import Policy
from .errors import MalformedInput
from .manifest import SECTION, BadManifest
from .manifest import read as read_manifest
from .sbom import cyclonedx, spdx


def _platform(text):
    try:
        return Platform.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


EPILOG = """\
checks by default (every file):
  identity   ELF class, byte order, machine and entry-point code of --platform (else the detected platform,
             printed on each line)
  libc       musl, by positive evidence (its _start, symbols, strings); glibc references in objects and archives
  hardening  non-executable stack, no writable+executable segment, RELATIVE-only relocations in a static-pie
  leaks      no path under $HOME (or each --leak-path) nor a build temp dir embedded in strings or debug info
  go         a Go binary's build information is read and shown
with --static, --stripped, --cgo, --trimpath: the link, the symbol table, and the Go build settings too.

output: one line per file, "ok" or "FAIL", the file and what it is (platform, link, libc, Go version,
stripped); each failed check follows, indented, with its evidence. -q prints failures only; --json a report.

exit status: 0 every check passed for every file; 1 a check failed; 2 usage error, or a file that cannot be
read or is neither ELF nor an ar archive."""


def _describe(report, platform):
    """What a file is, in a few words: the line a user reads to know it is what they meant."""
    s = report.summary
    if report.kind == "archive":
        return f"{platform or 'archive'}  archive of {s['members']} members"
    if report.kind == "object":
        return f"{platform or s['machine']}  object"
    words = [s.get("platform") or s["machine"], s["link_type"], s["libc"]]
    if s.get("go"):
        words.append(s["go"]["go_version"])
    words.append("stripped" if s["stripped"] else "not-stripped")
    if not platform and s.get("platform"):
        words[0] += " (detected)"
    return "  ".join(words)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sconsrules-verify", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Verify static musl ELF executables, objects and archives.")
    parser.add_argument("--platform", type=_platform, help="expected platform, e.g. linux/arm64")
    parser.add_argument("--static", action="store_true", help="require a static or static-pie executable")
    parser.add_argument("--libc", choices=["musl", "any"], default="musl", help="required libc (default: musl)")
    parser.add_argument("--stripped", action="store_true", help="require no symbol table and no debug sections")
    parser.add_argument("--cgo", action="store_true", help="a Go binary built with cgo: require CGO_ENABLED=1")
    parser.add_argument("--trimpath", action="store_true", help="a Go binary built with -trimpath: require it")
    parser.add_argument("--leak-path", action="append", metavar="DIR",
                        help="a directory of the build machine that must not appear in the file "
                             "(repeatable; default: $HOME, wherever this command runs)")
    parser.add_argument("--dwarf-allow", action="append", default=[], metavar="PREFIX",
                        help="an absolute path prefix debug info may name (repeatable; always allowed: /_/, "
                             "/tmp/go-build/ and the canonical directory of split debug files)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print failures only")
    parser.add_argument("--json", action="store_true", help="print a JSON report of every check (with each "
                                                                "binary's dependency manifest)")
    parser.add_argument("--deps", action="store_true", help="print what each binary was built from: its dependency "
                                                            "manifest (C libraries, toolchain) and its Go modules")
    parser.add_argument("--sbom", action="store_true", help="print the CycloneDX 1.6 SBOM of one binary (from its Go "
                                                            "build info and dependency manifest) instead of a report")
    parser.add_argument("--spdx", action="store_true", help="print the SPDX 2.3 SBOM of one binary (its creation "
                                                            "time $SOURCE_DATE_EPOCH, else the file's mtime)")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    if (args.sbom or args.spdx) and len(args.files) != 1:
        parser.error("--sbom and --spdx take one FILE")
    if args.sbom and args.spdx:
        parser.error("--sbom and --spdx print one document each: pick one")
    leak_paths = args.leak_path if args.leak_path is not None else [os.path.expanduser("~")]
    policy = Policy(platform=args.platform, static=args.static, libc=args.libc, stripped=args.stripped,
                    go=args.cgo or args.trimpath, cgo=args.cgo, trimpath=args.trimpath,
                    leak_paths=tuple(os.path.abspath(p) for p in leak_paths if os.path.abspath(p) != "/"),
                    dwarf_allow=tuple(args.dwarf_allow))
    reports, status = [], 0
    for path in args.files:
        try:
            report = verify_file(path, policy)
        except MalformedInput as exc:
            status = 2
            reports.append({"file": path, "ok": False, "error": str(exc)})
            if not args.json:
                print(f"FAIL  {path}: input: {exc}", file=sys.stderr)
            continue
        if not report.ok:
            status = max(status, 1)
        if args.sbom or args.spdx:
            deps, deps_error = _manifest(path)
            if deps_error:
                print(f"FAIL  {path}: dependency manifest: {deps_error}", file=sys.stderr)
                return 2
            with open(path, "rb") as fh:
                data, go = fh.read(), report.summary.get("go")
            epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
            document = (cyclonedx(os.path.basename(path), data, go, deps) if args.sbom else
                        spdx(os.path.basename(path), data, go, deps,
                             int(epoch) if epoch.isdigit() else int(os.stat(path).st_mtime)))
            json.dump(document, sys.stdout, indent=1, sort_keys=True)
            print()
            return status
        data = report.to_json()
        deps, deps_error = _manifest(path) if args.deps or args.json else (None, None)
        if deps is not None or deps_error:
            data["deps"] = deps if deps is not None else {"error": deps_error}
        reports.append(data)
        if args.json or (args.quiet and report.ok and not args.deps):
            continue
        print(f"{'ok' if report.ok else 'FAIL':4}  {path}  {_describe(report, args.platform)}")
        for f in report.failures:
            print(f"      {f.check}: {f.reason}: {f.evidence}")
        if args.deps:
            for line in _deps_lines(deps, deps_error, data.get("summary", {}).get("go")):
                print(f"      {line}")
    if args.json:
        json.dump(reports, sys.stdout, indent=1)
        print()
    return status


def _manifest(path):
    """(the dependency manifest or None, why it could not be read or None)."""
    try:
        return read_manifest(path), None
    except BadManifest as exc:
        return None, str(exc)
    except OSError as exc:
        return None, exc.strerror


def _deps_lines(deps, error, go):
    if error:
        yield f"deps: unreadable manifest: {error}"
    elif deps is None:
        yield f"deps: no {SECTION} section (not built by sconsrules, or before manifests)"
    else:
        yield (f"deps: {deps.get('binary', '?')} for {deps.get('platform', '?')}, toolchain {deps.get('toolchain', '?')}, "
               f"{deps.get('go', '?')}")
        for lib in deps.get("libraries", ()):
            if not isinstance(lib, dict):
                continue
            what = " ".join(str(lib[k]) for k in ("version", "license") if lib.get(k))
            source = f" source {lib['source']} sha256 {lib.get('source_sha256', '?')}" if lib.get("source") else ""
            digest = f" sources sha256 {lib['sources_sha256']}" if lib.get("sources_sha256") else ""
            archives = "".join(f" {a.get('name')} sha256 {a.get('sha256')}" for a in lib.get("archives", ())
                               if isinstance(a, dict))
            yield f"C  {lib.get('kind', '?')} {lib.get('name', '?')} {what}{source}{digest}{archives}".replace("  ", " ")
        for module in deps.get("go_modules_c", ()):
            if not isinstance(module, dict):
                continue
            parts = [f"C in Go module {module.get('module', '?')} {module.get('version', '')}".rstrip()]
            parts += [f"{e.get('name')} {e.get('version')} ({e.get('file')} sha256 {e.get('sha256')})"
                      for e in module.get("embedded", ()) if isinstance(e, dict)]
            parts += [f"{a.get('path')} sha256 {a.get('sha256')}" for a in module.get("archives", ())
                      if isinstance(a, dict)]
            yield ": ".join([parts[0], ", ".join(parts[1:])]) if parts[1:] else parts[0]
    for module in (go or {}).get("deps", ()):
        yield f"Go {module.get('path', '?')} {module.get('version', '')}".rstrip()


def run(argv=None):
    """main(), and a reader that stops early (`| head`) ends the output quietly, not with a traceback."""
    try:
        return main(argv)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 1


if __name__ == "__main__":
    sys.exit(run())
