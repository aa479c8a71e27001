"""sconsrules: Bazel-like SCons rules for fully static, musl-linked C and Go (cgo) binaries.

Importing the package inside an SCons run also registers it as the SCons tool `sconsrules`, so that
`Environment(tools=["default", "sconsrules"])` finds it without a toolpath.
"""
import sys

__version__ = "0.1.0"


def _register_tool():
    if "SCons.Script" in sys.modules and "SCons.Tool.sconsrules" not in sys.modules:
        from . import tool

        sys.modules["SCons.Tool.sconsrules"] = tool


_register_tool()
