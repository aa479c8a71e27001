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
