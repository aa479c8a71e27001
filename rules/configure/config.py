"""A configuration: the platform x toolchain a target is built in, and the output directory it owns; and how a
rule call's platforms and toolchain are chosen (the target's own, --platforms/--toolchain, the environment's).

Each configuration writes under its own directory, so switching platforms or toolchains back and forth
never overwrites (and so never rebuilds) what another configuration built. Two configurations are one only
when their toolchains are the same (name and identity): two images whose names sanitize alike never share a tree.
"""
from typing import List, Tuple

import attrs

from ..errors import RuleError
from .platform import Platform
from .toolchains.base import Toolchain


@attrs.frozen
class Configuration:
    platform: Platform
    toolchain: Toolchain = attrs.field(eq=False, hash=False)
    toolchain_name: str = attrs.field()
    toolchain_identity: str = attrs.field(repr=False)  # asked once here; every Step of the configuration uses it

    @classmethod
    def of(cls, platform: Platform, toolchain: Toolchain) -> "Configuration":
        return cls(platform, toolchain, toolchain.name, toolchain.identity())

    @property
    def dirname(self) -> str:
        return f"{self.platform.dirname}-{self.toolchain_name}"

    def __str__(self) -> str:
        return self.dirname


def parse_platforms(rule: str, name: str, value, attribute: str) -> List[Platform]:
    if isinstance(value, str):
        value = [p for p in value.split(",") if p.strip()]
    try:
        parsed = [Platform.parse(p) for p in value]
    except (TypeError, ValueError) as exc:
        raise RuleError(rule, name, f"{attribute}: {exc}", "write platforms as Go and OCI do: os/arch[/variant], e.g. 'linux/arm64' or 'linux/arm/v7'") from None
    if not parsed:
        raise RuleError(rule, name, f"{attribute} is empty")
    return list(dict.fromkeys(parsed))


def selected_platforms(env, options, rule: str, name: str) -> Tuple[List[Platform], bool]:
    """(platforms, from the command line): --platforms, else env['SCONSRULES_PLATFORMS'], else the host."""
    cli = options.get("platforms")
    if cli:
        return parse_platforms(rule, name, cli, "--platforms"), True
    default = env.get("SCONSRULES_PLATFORMS")
    if default:
        return parse_platforms(rule, name, default, "SCONSRULES_PLATFORMS"), False
    return [Platform.host()], False


def target_platforms(env, options, rule: str, name: str, own) -> List[Platform]:
    """A target's own platforms= (narrowed by --platforms, like Bazel's target_compatible_with), else the
    selected ones."""
    selected, from_cli = selected_platforms(env, options, rule, name)
    if own is None:
        return selected
    declared = parse_platforms(rule, name, own, "platforms")
    return [p for p in declared if p in selected] if from_cli else declared


def toolchain_name(env, options, explicit):
    if explicit is not None:
        return explicit
    return options.get("toolchain") or env.get("SCONSRULES_TOOLCHAIN") or "auto"
