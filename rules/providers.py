"""CcInfo: what a C library gives its dependents, merged transitively (like rules_cc's CcInfo).

includes and defines travel to every dependent; archives keep link order (each library before the
libraries it needs), which stays valid through diamonds by keeping each archive's last occurrence.
A library whose flags are found only at build time (PkgConfigCLib) contributes response files instead:
one of compile flags (flag_files) and one in the link order standing for its archives (a `.rsp` archive).
"""
import attrs


def _unique_first(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return tuple(out)


def _unique_last(items):
    return tuple(reversed(_unique_first(reversed(list(items)))))


@attrs.frozen
class Component:
    """One C library as a binary's dependency manifest records it (execute/manifest.py): what is known when the
    SConscripts are read (`facts`: version, license, source URLs and sha256, build system), and files whose
    content the record digests when it is made (`files`: a library's own sources; `archives_in`: a directory
    whose `.a` files it resolved to)."""

    kind: str
    name: str
    facts: tuple = ()  # (key, value) pairs, value a string or a tuple of strings
    files: tuple = ()
    archives_in: str = ""


@attrs.frozen
class CcInfo:
    includes: tuple = ()  # directories (absolute paths), searched in order
    defines: tuple = ()
    headers: tuple = ()  # SCons File nodes of declared headers, transitive
    archives: tuple = ()  # SCons File nodes, link order: archives, or response files that list archives
    linkopts: tuple = ()  # one tuple of options per library, in link order
    # Include dirs filled by a build step (a foreign install): the C scanner must not look there, or it would
    # see different headers before and after the install and rebuild for nothing; the install's archives
    # stand for those headers in dependents' dependencies instead.
    generated_includes: tuple = ()
    flag_files: tuple = ()  # response files of compile flags (File nodes), for `@file` on compile lines
    cxx: bool = False  # C++ code is in the closure: the final link needs the C++ runtime
    install_roots: tuple = ()  # DESTDIR trees of foreign builds (where a dependent's cmake may find them)
    components: tuple = ()  # Component records of every library in the closure, for the dependency manifest

    def scan_paths(self, *extra):
        return tuple(i for i in self.includes if i not in self.generated_includes) + extra

    @classmethod
    def merge(cls, own, deps):
        """Combine a target's own contribution with its dependencies' providers."""
        infos = [own] + list(deps)
        return cls(
            includes=_unique_first(i for info in infos for i in info.includes),
            defines=_unique_first(d for info in infos for d in info.defines),
            headers=_unique_first(h for info in infos for h in info.headers),
            archives=_unique_last(a for info in infos for a in info.archives),
            linkopts=_unique_last(g for info in infos for g in info.linkopts),
            generated_includes=_unique_first(i for info in infos for i in info.generated_includes),
            flag_files=_unique_first(f for info in infos for f in info.flag_files),
            cxx=any(info.cxx for info in infos),
            install_roots=_unique_first(r for info in infos for r in info.install_roots),
            components=_unique_first(c for info in infos for c in info.components),
        )

    @property
    def archive_files(self):
        """The archives known at read time (a response file's archives are verified where it is made)."""
        return tuple(a for a in self.archives if not a.name.endswith(".rsp"))

    def link_args(self):
        """Link-order arguments: archive paths and `@file` for response files."""
        return tuple(("@" if a.name.endswith(".rsp") else "") + a.abspath for a in self.archives)

    def flag_args(self):
        return tuple("@" + f.abspath for f in self.flag_files)

    @property
    def flat_linkopts(self):
        return tuple(o for group in self.linkopts for o in group)
