"""Stamping, opt-in (`--stamp`), as Bazel does it: x_defs values may name facts of the checkout in braces,
filled only with --stamp. Without it an x_def that names one is left out (the variable keeps its default in the
Go source), so nothing varies between builds; with it the values depend only on the commit (and, for
GIT_DESCRIBE, whether the tree has changes), so a stamped release is reproducible for a given commit.
"""
import re
import subprocess
from typing import Dict, Optional, Tuple

KEYS = ("GIT_COMMIT", "GIT_COMMIT_TIME", "GIT_DESCRIBE")
PATTERN = re.compile(r"\{(" + "|".join(KEYS) + r")\}")


class StampError(Exception):
    """The checkout cannot say what --stamp needs."""


def values(start: str) -> Dict[str, str]:
    """The stamp keys of the git checkout holding `start` (git runs only when --stamp is given)."""
    def git(*args):
        proc = subprocess.run(["git", *args], cwd=start, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StampError(f"git {' '.join(args)} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        return proc.stdout.strip()

    try:
        return {"GIT_COMMIT": git("rev-parse", "HEAD"), "GIT_COMMIT_TIME": git("log", "-1", "--format=%ct"),
                "GIT_DESCRIBE": git("describe", "--tags", "--always", "--dirty")}
    except FileNotFoundError:
        raise StampError("git is not installed") from None


def apply(x_defs: Tuple[Tuple[str, str], ...], stamp: Optional[Dict[str, str]]) -> Tuple[Tuple[str, str], ...]:
    """x_defs with the stamp keys filled (`stamp` given) or, without stamping, those that name one left out."""
    result = []
    for name, value in x_defs:
        if not PATTERN.search(value):
            result.append((name, value))
        elif stamp is not None:
            result.append((name, PATTERN.sub(lambda m: stamp[m.group(1)], value)))
    return tuple(result)
