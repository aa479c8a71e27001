"""Reading a rule call: checking its keywords and attribute types (attrs classes with these converters).

Everything wrong with a declaration is reported at read time, as a RuleError naming the rule, the target and
the attribute, before any build starts.
"""
import re

import attrs

from ..errors import RuleError, describe, shown  # noqa: F401 (describe: re-exported for the rules)


class AttributeError_(ValueError):
    """Raised by converters; carries the attribute name for the RuleError."""



def _close(word, known):
    """The known word closest to a misspelt one (difflib loads only for a mistake)."""
    import difflib
    return difflib.get_close_matches(word, known, n=1)

def string_list(name, selectable=False):
    """Converter for list-of-strings attributes; a lone string is accepted as a one-element list. A `selectable`
    attribute (one that takes {placeholders}) may also hold select() elements."""
    from .select import Select

    def convert(value):
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        try:
            items = tuple(value)
        except TypeError:
            raise AttributeError_(f"{name} must be a list of strings, not {type(value).__name__}") from None
        checked = []
        for item in items:
            if selectable and isinstance(item, Select):
                try:
                    item = item.checked(name)
                except ValueError as exc:
                    raise AttributeError_(str(exc)) from None
            elif isinstance(item, Select):
                raise AttributeError_(f"{name} does not take select(); only attributes that take {{placeholders}} do "
                                      "(ForeignCLib configure_args, PkgConfigCLib pkg_config_path)")
            elif not isinstance(item, str):
                allowed = "strings and select()s" if selectable else "strings"
                raise AttributeError_(f"{name} must be a list of {allowed}, found {shown(item)}")
            checked.append(item)
        return tuple(checked)

    return convert


def node_list(value):
    """Converter for attributes holding files or targets: strings, nodes, and (nested) lists of them."""
    import SCons.Util

    if value is None:
        return ()
    return tuple(SCons.Util.flatten(value))


def relaxations(value):
    """Converter for verify=: {check id: stated reason}; an unknown id or an empty reason is refused."""
    from ..verify.policy import CHECK_IDS

    if value is None:
        return ()
    if not isinstance(value, dict):
        raise AttributeError_(f"verify must be a dict of check id to reason, not {type(value).__name__}")
    for check, reason in value.items():
        if check not in CHECK_IDS:
            close = _close(str(check), CHECK_IDS)
            raise AttributeError_(f"verify: unknown check {check!r}" + (f" (did you mean '{close[0]}'?)" if close else ""))
        if not isinstance(reason, str) or not reason.strip():
            raise AttributeError_(f"verify: relaxing {check!r} needs a stated reason (a non-empty string)")
    return tuple(sorted(value.items()))


def fill_placeholders(values, platform, rule, name, attribute):
    """`values` for `platform`: each select() replaced by its branch, placeholders ({goarch}, {cpu}, ...) filled."""
    from .select import Select

    subs = platform.placeholders()
    chosen = [w for v in values for w in (v.pick(platform) if isinstance(v, Select) else (v,))]
    try:
        return [v.format(**subs) for v in chosen]
    except (KeyError, IndexError, ValueError) as exc:
        raise RuleError(rule, name, f"{attribute}: unknown placeholder {exc}",
                        f"known: {', '.join('{' + k + '}' for k in subs)}") from None


NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=,@~-]*")


def check_name(rule, name):
    """A target name becomes a file name, an alias and part of output paths: a plain word, nothing else."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        text = repr(name)[1:-1] if isinstance(name, str) else shown(name)
        raise RuleError(rule, text,
                        "the first argument must be the target's name, e.g. 'mylib'",
                        "a name is letters, digits and _ . + - = , @ ~, not starting with '.' or '-'; "
                        "no '/', spaces or control characters")


def build(cls, rule, name, kwargs):
    """Instantiate the attrs class `cls` from a rule call (its name already checked), turning every mistake
    into a RuleError."""
    known = [f.name for f in attrs.fields(cls) if f.name != "name"]
    for key in kwargs:
        if key not in known:
            close = _close(key, known)
            hint = f"did you mean '{close[0]}'?" if close else f"known attributes: {', '.join(known)}"
            raise RuleError(rule, name, f"unknown attribute '{key}'", hint)
    try:
        return cls(name=name, **kwargs)
    except AttributeError_ as exc:
        raise RuleError(rule, name, str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise RuleError(rule, name, str(exc)) from None


def boolean(name):
    def convert(value):
        if not isinstance(value, bool):
            raise AttributeError_(f"{name} must be True or False, not {describe(value)}")
        return value

    return convert


def string_dict(name):
    def convert(value):
        if value is None:
            return ()
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise AttributeError_(f"{name} must be a dict of strings")
        return tuple(sorted(value.items()))

    return convert
