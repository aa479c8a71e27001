"""Performing a Step: commands to a temporary path, verify, then rename, so that nothing unverified ever
sits at a target path (SCons keeps a failed action's output and may later call it up to date).

An executor decides only where a command runs (native.py: this machine; container.py: a builder container);
everything else here is shared by every executor. The phases, in order: prepare, precheck, restore from the
output cache, run the commands, check the outputs exist, verify, report, store in the cache, publish.
"""
import fnmatch
import json
import os
import re
import signal
import sys
import threading

from ..actions import Call
from ..actions.commands import inputs_define
from ..errors import RuleError
from ..verify import MalformedInput
from .echo import Echoing
from .run import run_tmp, write_atomic
from .tree import remove

_print_lock = threading.Lock()
QUIET_TAIL = 60


def emit(text):
    """One whole line on stdout: steps finish on several threads (-j)."""
    with _print_lock:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def _failure(step, report, subject):
    first = report.failures[0]
    more = f" (+{len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
    return f"[{step.config}] verify failed{subject}: {first.check}: {first.reason}: {first.evidence}{more}"


def _verify(step, path, policy, subject=""):
    from ..verify.checks import verify_file
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
    return [os.path.join(tmp, m) for m in step.outputs.members] or [tmp]


def _judged(step, tmp):
    """The files the policy judges: what the step must produce, or what its verification glob matches."""
    pattern = step.verification.glob
    if pattern is None:
        return _expected(step, tmp)
    found = []
    for root, _, files in os.walk(tmp):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), tmp)
            if fnmatch.fnmatch(rel, pattern):
                found.append(os.path.join(tmp, rel))
    return sorted(found)


def _error(step, cause, hint=None):
    return RuleError(step.rule, step.label, f"[{step.config}] {cause}" if step.config else cause, hint)


def _prepare(step):
    """This run's temporary path, empty, and nothing at the final path (a failure leaves nothing there)."""
    os.makedirs(os.path.dirname(step.out), exist_ok=True)
    tmp = run_tmp(step.tmp)
    for suffix in step.outputs.suffixes:
        remove(tmp + suffix)
        remove(step.out + suffix)
    if step.outputs.stamp_path:
        remove(step.outputs.stamp_path)
    return tmp


def _precheck(step, verdicts=None):
    """Inputs that must pass the verifier before any command runs (archives about to be linked); with
    `verdicts` (execute/verdicts.py), bytes that passed the same policy before are not parsed again."""
    for path, policy in step.verification.prechecks:
        key = verdicts.key(path, policy) if verdicts is not None else None
        if key is not None and verdicts.passed(key):
            continue
        subject = f" for input {os.path.basename(path)}"
        report = _verify(step, path, policy, subject)
        if not report.ok:
            raise RuleError(step.rule, step.label, _failure(step, report, subject),
                            "rebuild that library with a musl toolchain for this platform")
        if key is not None and verdicts.key(path, policy) == key:  # the bytes verified are the bytes hashed
            verdicts.add(key)


# Progress chatter of tools (`go: downloading m v1.2.3`): kept in the step's log, shown only when it fails.
CHATTER = re.compile(r"^go: (downloading|extracting|finding|found|added|upgraded) ")


def _log(step, command, output, code):
    """A quiet step's output goes to <out>.log (its end is shown on failure); another's is shown, less the
    tools' chatter, which goes to the log (all of it is shown when the command fails)."""
    lines = output.splitlines()
    chatter = [line for line in lines if CHATTER.match(line)]
    if step.quiet or chatter:
        with open(step.out + ".log", "a" if command is not step.commands[0] else "w") as fh:
            fh.write(output)
    if step.quiet:
        if code != 0:
            tail = lines[-QUIET_TAIL:]
            emit("\n".join(tail) + f"\nsconsrules: last {len(tail)} lines shown; the whole log: {step.out}.log")
        return
    shown = lines if code != 0 else [line for line in lines if not CHATTER.match(line)]
    if "".join(shown).strip():
        emit("\n".join(shown))


def _run_commands(step, executor, tmp, digest, inputs):
    extra = [(step.caching.digest_env, [inputs_define(digest)])] if step.caching.digest_env and digest else []
    for command in step.commands:
        try:
            runnable = (command.at_run_time(extra, rename=(step.tmp, tmp), inputs=inputs) if isinstance(command, Call)
                        else command.at_run_time(extra, rename=(step.tmp, tmp)))
        except OSError as exc:
            raise _error(step, f"cannot read {exc.filename}: {exc.strerror}",
                         "a dependency's response file is missing: rebuild it") from None
        try:
            code, output = executor.run(runnable, dict(step.passenv), (step.rule, step.label))
        except OSError as exc:
            raise _error(step, f"cannot run {command.argv[0]}: {exc.strerror}",
                         "check that the toolchain is installed") from None
        _log(step, command, output, code)
        judge_exit(code, output, step.what, command.shown, executor.name,
                   lambda cause, hint=None: _error(step, cause, hint))


def judge_exit(code, output, what, shown, where, error):
    """Raise `error(cause, hint)` unless the command succeeded: a signal is named (Ctrl-C is an interruption), a
    script of ours states its cause, and otherwise the command that failed (`shown`) is printed, with the
    executor it ran in (`where`) when known."""
    if code < 0:
        raise error(f"{what} {_signalled(-code)}")
    if code != 0:
        cause = _stated_cause(output)
        if cause:
            raise error(cause)
        emit(f"sconsrules: failed command{f' ({where})' if where else ''}:\n  {shown.render()}")
        raise error(f"{what} failed (exit {code})", "see the compiler output above")


def _check_outputs(step, tmp):
    if step.outputs.kind == "stamp":
        with open(tmp, "w") as fh:
            fh.write(step.stamp_text())
        return
    if step.outputs.kind == "tree" and not os.path.isdir(tmp):
        raise _error(step, f"{step.what} did not produce its directory")
    side = [tmp + s for s in step.outputs.side]
    for path in (_expected(step, tmp) + side) if step.outputs.kind == "file" or step.outputs.members else ():
        if not os.path.isfile(path):
            what = (os.path.relpath(path, tmp) if step.outputs.members else "its output" if path == tmp
                    else os.path.basename(step.out) + path[len(tmp):])
            raise _error(step, f"{step.what} did not produce {what}",
                         "check the declared outputs against what the build installs")


def _verify_outputs(step, tmp):
    """Every judged file against the policy; the last report (a file output's only one) is returned."""
    report = None
    for path in _judged(step, tmp):
        subject = f" for {os.path.relpath(path, tmp)}" if step.outputs.members else ""
        report = _verify(step, path, step.policy, subject)
        if not report.ok:
            raise RuleError(step.rule, step.label, _failure(step, report, subject), step.verification.hint or
                            "the artifact was not kept; fix the flags or toolchain, or relax the check with verify=")
    return report


def _write_report(step, report):
    data = report.to_json()
    data.update(file=os.path.basename(step.out), rule=step.rule, target=step.label, config=step.config)
    write_atomic(step.out + ".verify.json", json.dumps(data, indent=1, sort_keys=True))


def _publish(step, tmp):
    for suffix in step.outputs.side:  # the main output last: its presence says the others are there
        os.replace(tmp + suffix, step.out + suffix)
    os.replace(tmp, step.out)
    if step.outputs.stamp_path:
        write_atomic(step.outputs.stamp_path, step.stamp_text())


def perform(step, executor, shared=None, digest=None, echo=False, verdicts=None, inputs=None):
    """Build `step`; raise RuleError (nothing left at its outputs) on any failure.

    With `shared` (a shared.SharedOutputs: tree outputs of steps shared between checkouts), an output stored
    earlier, locally or remotely, replaces running the commands if it passes the same checks as a fresh one.
    `digest` (of the step's digest_inputs) is appended to its commands' digest_env as a define. `echo`
    (--subcommands) prints each command before it runs. `verdicts` keeps the prechecks' passes. `inputs` go to a
    Call that asks for the digests of its step's sources and what was scanned from them (Call.scanned).
    """
    if echo:
        executor = Echoing(executor, emit, step.config or step.rule)
    tmp = _prepare(step)
    try:
        _precheck(step, verdicts)
        source = shared.restore(tmp) if shared is not None else None
        report = None
        if source is not None:
            try:
                report = _checked(step, tmp)
                _check_side(step, tmp)
            except RuleError as exc:
                shared.reject(tmp, source, exc.cause)
                source = None
        if source is None:
            _run_commands(step, executor, tmp, digest, inputs)
            report = _checked(step, tmp)
        if step.verification.report:
            _write_report(step, report)
        if shared is not None:
            shared.store(tmp, source)
        _publish(step, tmp)
        for path in step.scratch:
            remove(path)
        return report
    finally:
        for suffix in step.outputs.suffixes:
            remove(tmp + suffix)


def _check_side(step, tmp):
    """Side files restored from the output cache, against their output: a split debug file (a fresh one was
    checked whole before the split made it)."""
    if ".debug" in step.outputs.side:
        from .debuginfo import check_pair
        check_pair(tmp, tmp + ".debug", os.path.basename(step.out) + ".debug", step.policy, (step.rule, step.label))


def _checked(step, tmp):
    """The outputs are all there and pass the policy; the last report."""
    _check_outputs(step, tmp)
    return _verify_outputs(step, tmp) if step.policy is not None else None
