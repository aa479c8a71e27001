"""Lets SCons load the tool `sconsrules` from the installed package, without `import sconsrules` in the
SConstruct.

SCons looks for a tool in the toolpath, the site_scons directories and its own SCons.Tool package, nothing else.
The wheel installs this module and a .pth file that runs it at interpreter start-up: it adds a finder that
answers exactly one name, SCons.Tool.sconsrules, and imports nothing until SCons asks for it. The module SCons
then gets holds the package's generate() and exists(), and its __file__ is the tool's, so a second Environment
finds it already loaded.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys

NAME = "SCons.Tool.sconsrules"


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from sconsrules.tool import exists, generate

        module.generate, module.exists = generate, exists


class ToolFinder(importlib.abc.MetaPathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != NAME:
            return None
        tool = importlib.util.find_spec("sconsrules.tool")
        if tool is None:
            return None
        spec = importlib.machinery.ModuleSpec(NAME, _Loader(), origin=tool.origin, is_package=False)
        spec.has_location = True  # __file__ = the tool's: SCons compares it to reuse a loaded tool
        return spec


def install():
    if not any(getattr(f, "__module__", "") == __name__ for f in sys.meta_path):
        sys.meta_path.append(ToolFinder)


install()
