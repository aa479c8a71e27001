"""The targets declared in one run: by name (for deps given as strings), by directory (names are unique per
SConscript), and their realizations, memoized per configuration."""
from ..errors import RuleError
from .attributes import describe


class Registry:
    """Declared targets (by node and by name) and their realizations, memoized per configuration."""

    def __init__(self):
        self.by_name = {}
        self.realized = {}
        self.by_target = {}  # id(target) -> [(configuration, what it gave)]
        self.binaries = []  # (node, target, config) for the end-of-build summary
        self.links = []  # (node, config, strip, cxx): steps whose links may wait on a toolchain's first use
        self.declared = {}  # (SConscript directory, name) -> (rule, where)
        self.layouts = {}  # image tag -> the node of its OCI layout (a multi-platform ScratchImage)

    def claim(self, directory, name, rule, where):
        """A name is declared once per SConscript directory (Bazel: once per package), whatever the rule."""
        first = self.declared.get((directory, name))
        if first is not None:
            raise RuleError(rule, name, f"the name is already declared in this directory by {first[0]} at "
                            f"{first[1] or 'an earlier call'}", "give each target of a SConscript its own name")
        self.declared[(directory, name)] = (rule, where)

    def add(self, target):
        self.by_name.setdefault(target.attrs.name, []).append(target)

    def lookup(self, ref, rule, name, attribute):
        """Resolve what a user put in deps/cdeps: a rule's return value or a target's name."""
        if isinstance(ref, str):
            found = self.by_name.get(ref, [])
            if len(found) == 1:
                return found[0]
            why = "no library of that name is declared (yet)" if not found else "that name is declared more than once"
            raise RuleError(rule, name, f"{attribute}: {ref!r}: {why}",
                            "declare it before its dependents, or pass the value the rule returned")
        target = getattr(getattr(ref, "attributes", None), "sconsrules_target", None)
        if target is not None:
            return target
        maker = getattr(getattr(ref, "attributes", None), "sconsrules_made_by", None)
        if maker is not None and not maker.library:
            raise RuleError(rule, name, f"{attribute}: {describe(ref)} is what {maker.kind} '{maker.name}' builds, "
                            "not a library", "name a StaticCLib, ForeignCLib or PkgConfigCLib here")
        raise RuleError(rule, name, f"{attribute}: {describe(ref)} is not a library declared with StaticCLib, "
                        "ForeignCLib or PkgConfigCLib", "pass what the rule returned, or the library's name")

    def realize(self, target, config):
        key = (id(target), config)
        if key not in self.realized:
            self.realized[key] = target.realize(config)
            self.by_target.setdefault(id(target), []).append((config, self.realized[key]))
        return self.realized[key]

    def realizations(self, target):
        """[(configuration, what it gave)] of `target` so far, in the order they were made."""
        return [(c, value) for c, value in self.by_target.get(id(target), ()) if c is not None]
