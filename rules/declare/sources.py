"""SourceArchive: third-party sources fetched once into a content-addressed store, checked, unpacked safely.

The declaration is checked here; fetching and unpacking are the work of its step (execute/fetch.py). The same
archive (name and sha256) declared twice is one step, fetched once.
"""
import os

import attrs

from ..actions import Outputs, commands, tmp_of
from ..execute.tree import Limits
from . import attributes as declare
from .rule import Rule


def _urls(value):
    if isinstance(value, str):
        value = [value]
    value = tuple(value) if isinstance(value, (list, tuple)) else value
    if not value or not isinstance(value, tuple) or \
            not all(isinstance(u, str) and u.split(":", 1)[0] in ("http", "https", "file") for u in value):
        raise declare.AttributeError_(f"urls must be a list of http://, https:// or file:// URLs, not {declare.describe(value)}")
    return value


def _sha256(value):
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value.lower()):
        raise declare.AttributeError_("sha256 must be the archive's 64-hex-digit SHA-256 (hint: sha256sum FILE)")
    return value.lower()


def _strip_prefix(value):
    if not isinstance(value, str) or value.startswith("/") or ".." in value.split("/"):
        raise declare.AttributeError_(f"strip_prefix must be a relative directory, not {declare.describe(value)}")
    return value.strip("/")


def _positive(name):
    def check(inst, attribute, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise declare.AttributeError_(f"{name} must be a positive whole number, not {declare.describe(value)}")

    return check


@attrs.frozen
class SourceSpec:
    """What decides the unpacked tree (the Call's argument: its signature)."""

    name: str
    urls: tuple
    sha256: str
    strip_prefix: str = ""
    limits: Limits = Limits()


@attrs.frozen
class SourceAttrs:
    name: str
    urls: tuple = attrs.field(default=(), converter=_urls)
    sha256: str = attrs.field(default="", converter=_sha256)
    strip_prefix: str = attrs.field(default="", converter=_strip_prefix)
    max_bytes: int = attrs.field(default=None, validator=_positive("max_bytes"))
    max_entries: int = attrs.field(default=None, validator=_positive("max_entries"))
    max_ratio: int = attrs.field(default=None, validator=_positive("max_ratio"))

    def spec(self):
        limits = {k: getattr(self, k) for k in ("max_bytes", "max_entries", "max_ratio") if getattr(self, k)}
        return SourceSpec(self.name, self.urls, self.sha256, self.strip_prefix, Limits(**limits))


class SourceArchive(Rule):
    kind = "SourceArchive"
    Attributes = SourceAttrs
    unique_name = False  # the same archive declared in two places is one step
    positional = ("urls", "sha256", "strip_prefix")

    def returned(self):
        """The stamp node whose build leaves the unpacked tree beside it (the tree is what ForeignCLib reads)."""
        spec = self.attrs.spec()
        dest = os.path.join(self.ctx.build_dir(self.env), "_src", f"{self.name}-{spec.sha256[:12]}")

        def make():
            step = self.step(None, "fetch and unpack", [commands.fetch_archive(spec, tmp_of(dest))],
                             Outputs(dest, kind="tree", stamp=f"{spec.sha256} {spec.strip_prefix}"))
            node = self.nodes(step, [])[0]
            node.attributes.sconsrules_source_dir = dest
            node.attributes.sconsrules_source_spec = spec  # what a dependency manifest says of the sources
            return node

        return self.ctx.memo(("SourceArchive", dest), make)
