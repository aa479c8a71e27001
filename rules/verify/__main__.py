"""`python -m sconsrules.verify` / `sconsrules-verify`: the in-build checks, on any file.

Exit 0: every check passed for every file; 1: a check failed; 2: usage error or unreadable/malformed input.
"""
import argparse
import json
import os
import sys

from ..configure.platform import Platform
from .checks import Policy, verify_file
from .errors import MalformedInput


def _platform(text):
    try:
        return Platform.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sconsrules-verify", description="Verify static musl ELF executables and archives.")
    parser.add_argument("--platform", type=_platform, help="expected platform, e.g. linux/arm64")
    parser.add_argument("--static", action="store_true", help="require a static or static-pie executable")
    parser.add_argument("--libc", choices=["musl", "any"], default="musl", help="required libc (default: musl)")
    parser.add_argument("--stripped", action="store_true", help="require no symbol table and no debug sections")
    parser.add_argument("--cgo", action="store_true", help="a Go binary built with cgo: require CGO_ENABLED=1")
    parser.add_argument("--trimpath", action="store_true", help="a Go binary built with -trimpath: require it")
    parser.add_argument("--leak-path", action="append", metavar="DIR",
                        help="a directory of the build machine that must not appear in the file "
                             "(repeatable; default: the current directory and $HOME)")
    parser.add_argument("--json", action="store_true", help="print a JSON report of every check")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    leak_paths = args.leak_path if args.leak_path is not None else [os.getcwd(), os.path.expanduser("~")]
    policy = Policy(platform=args.platform, static=args.static, libc=args.libc, stripped=args.stripped,
                    go=args.cgo or args.trimpath, cgo=args.cgo, trimpath=args.trimpath,
                    leak_paths=tuple(os.path.abspath(p) for p in leak_paths if os.path.abspath(p) != "/"))
    reports, status = [], 0
    for path in args.files:
        try:
            report = verify_file(path, policy)
        except MalformedInput as exc:
            status = 2
            reports.append({"file": path, "ok": False, "error": str(exc)})
            if not args.json:
                print(f"{path}: input: {exc}", file=sys.stderr)
            continue
        if not report.ok:
            status = max(status, 1)
        reports.append(report.to_json())
        if not args.json:
            for f in report.failures:
                print(f"{path}: {f.check}: {f.reason}: {f.evidence}")
    if args.json:
        json.dump(reports, sys.stdout, indent=1)
        print()
    return status


def run(argv=None):
    """main(), and a reader that stops early (`| head`) ends the output quietly, not with a traceback."""
    try:
        return main(argv)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 1


if __name__ == "__main__":
    sys.exit(run())
