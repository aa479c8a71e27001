"""Inside a checkout: load the package from rules/ as `sconsrules` (no pip install needed)."""
import importlib.util
import os
import sys

_rules = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rules")
if "sconsrules" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("sconsrules", os.path.join(_rules, "__init__.py"),
                                                   submodule_search_locations=[_rules])
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["sconsrules"] = _module
    _spec.loader.exec_module(_module)
