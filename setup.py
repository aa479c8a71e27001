"""The wheel's two start-up files (rules/_startup/): a .pth and the finder it runs, which make the SCons tool
`sconsrules` loadable without `import sconsrules`. Everything else is in pyproject.toml."""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

STARTUP = ("rules/_startup/sconsrules-tool.pth", "rules/_startup/_sconsrules_tool_finder.py")


class BuildWithStartupFiles(build_py):
    def run(self):
        super().run()
        for path in STARTUP:
            self.copy_file(path, os.path.join(self.build_lib, os.path.basename(path)))

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, os.path.basename(p))
                                                       for p in STARTUP]


setup(cmdclass={"build_py": BuildWithStartupFiles})
