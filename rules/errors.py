"""One error type for everything a user can get wrong, rendered as a single line.

SCons prints a traceback for unexpected exceptions; users must never see one for bad input, so every
check raises RuleError and the tool converts it to SCons's UserError / BuildError at the boundary.
"""


class RuleError(Exception):
    """A user-facing failure: which rule, which target, what is wrong, what to do about it."""

    def __init__(self, rule, target, cause, hint=None):
        self.rule = rule
        self.target = target
        self.cause = cause
        self.hint = hint
        super().__init__(self.line())

    def line(self):
        where = f"{self.rule} '{self.target}'" if self.target else self.rule
        text = f"sconsrules: {where}: {self.cause}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return " ".join(text.split("\n"))


def describe(value):
    """A value as the user wrote it: SCons nodes by their path, plain values as Python writes them, anything
    else by its type (never a repr with an address)."""
    if hasattr(value, "path") and hasattr(value, "abspath"):
        return repr(value.path)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return repr(value)
    kind = type(value).__name__
    return f"{'an' if kind[:1] in 'aeiouAEIOU' else 'a'} {kind}"


def shown(value):
    """A value with its type, for "found ..." messages: `int 3`, `File 'a.c'`, `an object`."""
    text = describe(value)
    return text if text.startswith(("a ", "an ")) else f"{type(value).__name__} {text}"
