"""Running Steps: commands to a temporary path, verify, then rename, so that nothing unverified ever
sits at a target path (SCons keeps a failed action's output and may later call it up to date).

An executor decides only where a Command runs (native.py: this machine; container.py: a builder container);
everything else here is shared by every executor.
"""
import json
import os
import sys
import threading

from ..errors import RuleError
from ..verify import MalformedInput, verify_file
from .native import NativeExecutor

__all__ = ["NativeExecutor", "perform"]
_print_lock = threading.Lock()


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


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


def perform(step, executor):
    """Build `step`; raise RuleError (nothing left at step.out) on any failure."""
    os.makedirs(os.path.dirname(step.out), exist_ok=True)
    _remove(step.tmp)
    _remove(step.out)
    for path, policy in step.prechecks:
        subject = f" for input {os.path.basename(path)}"
        report = _verify(step, path, policy, subject)
        if not report.ok:
            raise RuleError(step.rule, step.label, _failure(step, report, subject),
                            "rebuild that library with a musl toolchain for this platform")
    for command in step.commands:
        try:
            code, output = executor.run(command, dict(step.passenv))
        except OSError as exc:
            _remove(step.tmp)
            raise RuleError(step.rule, step.label, f"[{step.config}] cannot run {command.argv[0]}: {exc.strerror}",
                            "check that the toolchain is installed") from None
        if output.strip():
            _emit(output)
        if code != 0:
            _remove(step.tmp)
            _emit(f"sconsrules: failed command ({executor.name}):\n  {command.render()}")
            raise RuleError(step.rule, step.label, f"[{step.config}] {step.what} failed (exit {code})",
                            "see the compiler output above")
    if step.policy is None:
        with open(step.tmp, "w") as fh:
            fh.write(step.signature() + "\n")
        os.replace(step.tmp, step.out)
        return None
    if not os.path.exists(step.tmp):
        raise RuleError(step.rule, step.label, f"[{step.config}] {step.what} produced no output")
    try:
        report = _verify(step, step.tmp, step.policy)
    except RuleError:
        _remove(step.tmp)
        raise
    if not report.ok:
        _remove(step.tmp)
        raise RuleError(step.rule, step.label, _failure(step, report, ""),
                        "the artifact was not kept; fix the flags or toolchain, or relax the check with verify=")
    if step.report:
        data = report.to_json()
        data.update(file=os.path.basename(step.out), rule=step.rule, target=step.label, config=step.config)
        tmp_report = step.out + ".verify.json.tmp"
        with open(tmp_report, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp_report, step.out + ".verify.json")
    os.replace(step.tmp, step.out)
    return report
