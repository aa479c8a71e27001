"""sconsrules: Bazel-like SCons rules for fully static, musl-linked C and Go (cgo) binaries.

The data flow is the folder tree: declare/ (rule attributes, read time) -> configure/ (platform x toolchain)
-> actions/ (Steps: commands as data) -> execute/ (run, verify, publish) with verify/ (the ELF checks).

Importing the package inside an SCons run also registers it as the SCons tool `sconsrules`, so that
`Environment(tools=["default", "sconsrules"])` finds it without a toolpath.
"""
import sys

__version__ = "0.1.0"


def apt_mirrors(*args, **kwargs):
    """This machine's apt archives (for SConscripts naming a distribution's copy of a release; no host in code)."""
    from .configure.mirrors import apt_mirrors as read

    return read(*args, **kwargs)


def select(*args, **kwargs):
    """Per-platform strings in attributes that take {placeholders}: select({"linux/386": [...]}, default=[...])."""
    from .declare.select import select as make

    return make(*args, **kwargs)


def _register_tool():
    if "SCons.Script" in sys.modules and "SCons.Tool.sconsrules" not in sys.modules:
        from . import tool

        sys.modules["SCons.Tool.sconsrules"] = tool


_register_tool()
