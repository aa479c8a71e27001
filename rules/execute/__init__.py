"""Running Steps: commands to a temporary path, verify, then rename, so that nothing unverified ever
sits at a target path (SCons keeps a failed action's output and may later call it up to date).

An executor decides only where a Command runs (native.py: this machine; container.py: a builder container);
everything else here is shared by every executor.
"""
import fnmatch
import json
import os
import signal
import sys
import threading

from ..errors import RuleError
from ..tree import remove
from ..verify import MalformedInput, verify_file
from . import cache
from .native import NativeExecutor
from .run import TMP_MARK, run_tmp

__all__ = ["NativeExecutor", "perform"]
_print_lock = threading.Lock()
QUIET_TAIL = 60


def _emit(text):
    with _print_lock:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def _failure(step, report, subject):
    first = report.failures[0]
    more = f" (+{len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
    return f"[{step.config}] verify failed{subject}: {first.check}: {first.reason}: {first.evidence}{more}"


def _verify(step, path, policy, subject=""):
    try:
        return verify_file(path, policy)
    except MalformedInput as exc:
        raise RuleError(step.rule, step.label, f"[{step.config}] verify{subject}: {exc}") from None


ERROR_PREFIX = "sconsrules: error: "  # how a script of ours states why it failed, in one line


def _stated_cause(output):
    for line in reversed(output.splitlines()):
        if line.startswith(ERROR_PREFIX):
            return line[len(ERROR_PREFIX):].strip()
    return None


def _signalled(number):
    """What a command ended by a signal says: Ctrl-C is an interruption, not a compiler failure."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        return f"was interrupted ({name})"
    return f"was killed by {name}" + (" (out of memory?)" if number == signal.SIGKILL else "")


def _expected(step, tmp):
    """The files a step must produce: its output, or the members of a directory output."""
    return [os.path.join(tmp, m) for m in step.members] or [tmp]


def _judged(step, tmp):
    """The files the policy judges: what the step must produce, or what its verify_glob matches."""
    if step.verify_glob is None:
        return _expected(step, tmp)
    found = []
    for root, _, files in os.walk(tmp):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), tmp)
            if fnmatch.fnmatch(rel, step.verify_glob):
                found.append(os.path.join(tmp, rel))
    return sorted(found)


def perform(step, executor, cache_key=None, digest=None):
    """Build `step`; raise RuleError (nothing left at step.out) on any failure.

    With a cache_key (directory outputs), a verified tree stored earlier replaces running the commands.
    `digest` (of the step's digest_inputs) is appended to its commands' step.digest_env as a define.
    """
    os.makedirs(os.path.dirname(step.out), exist_ok=True)
    tmp = run_tmp(step.tmp)
    remove(tmp)
    remove(step.out)
    for path, policy in step.prechecks:
        subject = f" for input {os.path.basename(path)}"
        report = _verify(step, path, policy, subject)
        if not report.ok:
            raise RuleError(step.rule, step.label, _failure(step, report, subject),
                            "rebuild that library with a musl toolchain for this platform")
    restored = cache_key is not None and cache.restore(cache_key, tmp, f"{step.rule} '{step.label}'")
    extra = [(step.digest_env, [f"-DSCONSRULES_CINPUTS={digest}"])] if step.digest_env and digest else []
    for command in () if restored else step.commands:
        try:
            runnable = command.at_run_time(extra, rename=(step.tmp, tmp))
        except OSError as exc:
            remove(tmp)
            raise RuleError(step.rule, step.label, f"[{step.config}] cannot read {exc.filename}: {exc.strerror}",
                            "a dependency's response file is missing: rebuild it") from None
        try:
            code, output = executor.run(runnable, dict(step.passenv), (step.rule, step.label))
        except OSError as exc:
            remove(tmp)
            raise RuleError(step.rule, step.label, f"[{step.config}] cannot run {command.argv[0]}: {exc.strerror}",
                            "check that the toolchain is installed") from None
        if step.quiet:
            with open(step.out + ".log", "a" if command is not step.commands[0] else "w") as fh:
                fh.write(output)
            if code != 0:
                tail = output.splitlines()[-QUIET_TAIL:]
                _emit("\n".join(tail) + f"\nsconsrules: last {len(tail)} lines shown; the whole log: {step.out}.log")
        elif output.strip():
            _emit(output)
        if code < 0:
            remove(tmp)
            raise RuleError(step.rule, step.label, f"[{step.config}] {step.what} {_signalled(-code)}")
        if code != 0:
            remove(tmp)
            cause = _stated_cause(output)
            if cause:
                raise RuleError(step.rule, step.label, f"[{step.config}] {cause}")
            _emit(f"sconsrules: failed command ({executor.name}):\n  {command.render()}")
            raise RuleError(step.rule, step.label, f"[{step.config}] {step.what} failed (exit {code})",
                            "see the compiler output above")
    if step.policy is None:
        with open(tmp, "w") as fh:
            fh.write(step.signature() + "\n")
        os.replace(tmp, step.out)
        return None
    for path in _expected(step, tmp):
        if not os.path.isfile(path):
            remove(tmp)
            what = os.path.relpath(path, tmp) if step.members else "its output"
            raise RuleError(step.rule, step.label, f"[{step.config}] {step.what} did not produce {what}",
                            "check the declared outputs against what the build installs")
    report = None
    for path in _judged(step, tmp):
        subject = f" for {os.path.relpath(path, tmp)}" if step.members else ""
        try:
            report = _verify(step, path, step.policy, subject)
        except RuleError:
            remove(tmp)
            raise
        if not report.ok:
            remove(tmp)
            raise RuleError(step.rule, step.label, _failure(step, report, subject), step.verify_hint or
                            "the artifact was not kept; fix the flags or toolchain, or relax the check with verify=")
    if step.report:
        data = report.to_json()
        data.update(file=os.path.basename(step.out), rule=step.rule, target=step.label, config=step.config)
        tmp_report = run_tmp(step.out + ".verify.json" + TMP_MARK)
        with open(tmp_report, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp_report, step.out + ".verify.json")
    if cache_key is not None and not restored:
        cache.store(cache_key, tmp)
    os.replace(tmp, step.out)
    return report
