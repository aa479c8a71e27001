"""A configuration: the platform x toolchain a target is built in, and the output directory it owns.

Each configuration writes under its own directory, so switching platforms or toolchains back and forth
never overwrites (and so never rebuilds) what another configuration built.
"""
import attrs

from .platform import Platform


@attrs.frozen
class Configuration:
    platform: Platform
    toolchain: object = attrs.field(eq=False, hash=False)
    toolchain_name: str = attrs.field()

    @classmethod
    def of(cls, platform, toolchain):
        return cls(platform, toolchain, toolchain.name)

    @property
    def dirname(self):
        return f"{self.platform.dirname}-{self.toolchain_name}"

    def __str__(self):
        return self.dirname
