"""The verifier's one input error: the file is not something we can reason about (exit status 2)."""


class MalformedInput(Exception):
    """Not a well-formed ELF image or ar archive: unreadable, truncated, random, or hostile."""
