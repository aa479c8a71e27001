"""select(): values that differ by platform, in the attributes that already take {placeholders} (Bazel's select).

One declaration serves every platform, yet a library's build sometimes needs a flag on one architecture only
(OpenSSL on i386 with clang: its 64-bit atomics call __atomic_is_lock_free, which zig's compiler-rt does not
have). A Select is an element of such a list: it stands for the strings of the branch of the platform being
built, or for its default. Branch keys are checked when the rule reads the attribute, so a wrong key is a
one-line error naming the rule, the target and the attribute.
"""
from typing import Any, Mapping, Sequence, Tuple

import attrs

from ..configure.platform import Platform


@attrs.frozen
class Select:
    branches: Tuple[Tuple[str, Any], ...]  # as written; checked() makes each value a tuple of strings
    default: Any

    def checked(self, attribute: str) -> "Select":
        """The same selection with keys parsed as platforms; ValueError names what is wrong."""
        branches = []
        for key, values in self.branches:
            try:
                platform = Platform.parse(key)
            except ValueError as exc:
                raise ValueError(f"{attribute}: select() key {key!r}: {exc}") from None
            branches.append((str(platform), _strings(values, f"{attribute}: select() branch {key!r}")))
        keys = [k for k, _ in branches]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{attribute}: select() names one platform twice")
        return Select(tuple(branches), _strings(self.default, f"{attribute}: select() default"))

    def pick(self, platform: Platform) -> Tuple[str, ...]:
        return dict(self.branches).get(str(platform), self.default)


def _strings(values, where: str) -> Tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    items = tuple(values)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{where} must hold strings, found {type(item).__name__}")
    return items


def select(branches: Mapping[str, Sequence[str]], default: Sequence[str] = ()) -> Select:
    """Strings per platform ("linux/386": [...]), `default` for the platforms not named."""
    if not isinstance(branches, Mapping):
        raise TypeError("select() takes a dict of platform to strings, e.g. {'linux/386': ['-DX']}")
    return Select(tuple((k, v) for k, v in branches.items()), default)
