"""Which files a Go package build reads, found by reading sources (no `go list`, no subprocess).

A null build must not start `go`, and SCons runs scanners under its scheduler's lock (no subprocess there);
so this follows the imports of the package through the packages of its own module (and local `replace`
targets and vendor/), plus cgo C files, embedded files, go.mod and go.sum. Build constraints are ignored on
purpose: over-approximating costs at worst a rebuild, never a missed one.
"""
import fnmatch
import os
import re

import attrs

SOURCE_SUFFIXES = (".go", ".c", ".h", ".s", ".S", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".m", ".f",
                   ".F", ".for", ".f90", ".syso", ".a", ".o")  # archives and objects: a #cgo LDFLAGS may link them
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r'`[^`]*`|"(?:\\.|[^"\\\n])*"')
_IMPORT_BLOCK = re.compile(r"\bimport\s*\((.*?)\)", re.S)
_IMPORT_ONE = re.compile(r'\bimport\s+(?:[\w.]+\s+)?"([^"]+)"')
_IMPORT_SPEC = re.compile(r'(?:[\w.]+\s+)?"([^"]+)"')
_DECL = re.compile(r"^(?:func|type|var|const)\b", re.M)
_EMBED = re.compile(r"^//go:embed\s+(.*)$", re.M)
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_IGNORED = re.compile(r"^//go:build\s+ignore\s*$", re.M)  # generators kept beside a library


class GoSourceError(Exception):
    pass


@attrs.frozen
class GoModule:
    root: str
    path: str
    replaces: tuple  # (import path prefix, local directory)


def find_module_root(start):
    d = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(d, "go.mod")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def read_module(root):
    try:
        with open(os.path.join(root, "go.mod"), errors="replace") as fh:
            text = _COMMENT.sub("", fh.read())
    except OSError as exc:
        raise GoSourceError(f"cannot read {root}/go.mod: {exc.strerror}") from None
    match = re.search(r"^\s*module\s+\"?([^\s\"]+)\"?", text, re.M)
    if not match:
        raise GoSourceError(f"{root}/go.mod has no module line")
    replaces = []
    for line in re.findall(r"^\s*(?:replace\s+)?(\S+)(?:\s+\S+)?\s+=>\s+(\S+)\s*$", text, re.M):
        old, new = line
        if new.startswith(("./", "../", "/")):
            replaces.append((old, os.path.normpath(os.path.join(root, new))))
    return GoModule(root, match.group(1), tuple(replaces))


def parse_go_file(text):
    """(imports, embed patterns) of one .go file."""
    embeds = []
    for line in _EMBED.findall(text):
        embeds += [p.strip('"`') for p in re.findall(r'"[^"]*"|`[^`]*`|\S+', line)]
    code = _COMMENT.sub(" ", text)
    decl = _DECL.search(code)
    header = code[:decl.start()] if decl else code
    imports = []
    for block in _IMPORT_BLOCK.findall(header):
        imports += _IMPORT_SPEC.findall(block)
    imports += _IMPORT_ONE.findall(_IMPORT_BLOCK.sub(" ", header))
    return imports, embeds


def _embedded(pkg_dir, pattern):
    """Files an embed pattern names; directories are walked as go:embed does (skipping . and _ files)."""
    keep_hidden = pattern.startswith("all:")
    pattern = pattern[4:] if keep_hidden else pattern
    found = []
    parts = pattern.split("/")
    current = [pkg_dir]
    for part in parts:
        nxt = []
        for d in current:
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            nxt += [os.path.join(d, n) for n in names if fnmatch.fnmatchcase(n, part)]
        current = nxt
    for path in current:
        if os.path.isdir(path):
            for dirpath, dirnames, filenames in os.walk(path):
                if not keep_hidden:
                    dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
                    filenames = [f for f in filenames if not f.startswith((".", "_"))]
                found += [os.path.join(dirpath, f) for f in filenames]
        elif os.path.isfile(path):
            found.append(path)
    return found


class GoSourceIndex:
    """Memoized per run (one per Context): one SConstruct with many binaries reads each package once."""

    def __init__(self):
        self._packages = {}

    def _package(self, pkg_dir):
        if pkg_dir not in self._packages:
            files, imports = [], set()
            try:
                names = sorted(os.listdir(pkg_dir))
            except OSError:
                names = None
            for name in names or ():
                path = os.path.join(pkg_dir, name)
                if not name.endswith(SOURCE_SUFFIXES) or name.endswith("_test.go") or not os.path.isfile(path):
                    continue
                files.append(path)
                if name.endswith(".go"):
                    with open(path, errors="replace") as fh:
                        found, embeds = parse_go_file(fh.read())
                    imports.update(found)
                    for pattern in embeds:
                        files += _embedded(pkg_dir, pattern)
            self._packages[pkg_dir] = (names is not None, tuple(files), frozenset(imports))
        return self._packages[pkg_dir]

    def package_name(self, pkg_dir):
        """The package clause of the directory's Go files ("main" if any file says so)."""
        names = set()
        for path in self._package(os.path.normpath(pkg_dir))[1]:
            if path.endswith(".go") and os.path.dirname(path) == os.path.normpath(pkg_dir):
                with open(path, errors="replace") as fh:
                    text = fh.read()
                found = _PACKAGE.search(_COMMENT.sub(" ", text))
                if found and not _IGNORED.search(text):
                    names.add(found.group(1))
        return "main" if "main" in names else (sorted(names)[0] if names else "?")

    def _local_dir(self, module, import_path):
        for prefix, local in ((module.path, module.root),) + module.replaces:
            if import_path == prefix or import_path.startswith(prefix + "/"):
                return os.path.join(local, import_path[len(prefix):].lstrip("/"))
        vendored = os.path.join(module.root, "vendor", import_path)
        return vendored if os.path.isdir(vendored) else None

    def package_inputs(self, module, package):
        """Every file the build of `package` (a path relative to module.root) reads from this tree."""
        start = os.path.normpath(os.path.join(module.root, package))
        exists, _, _ = self._package(start)
        if not exists:
            raise GoSourceError(f"package directory {start} does not exist")
        inputs = {os.path.join(module.root, "go.mod")}
        for extra in ("go.sum", os.path.join("vendor", "modules.txt")):
            if os.path.isfile(os.path.join(module.root, extra)):
                inputs.add(os.path.join(module.root, extra))
        seen, todo = set(), [start]
        while todo:
            pkg_dir = todo.pop()
            if pkg_dir in seen:
                continue
            seen.add(pkg_dir)
            _, files, imports = self._package(pkg_dir)
            inputs.update(files)
            for imp in imports:
                local = self._local_dir(module, imp)
                if local and local not in seen:
                    todo.append(local)
            for _, local in module.replaces:
                if pkg_dir.startswith(local + os.sep) or pkg_dir == local:
                    for name in ("go.mod", "go.sum"):
                        if os.path.isfile(os.path.join(local, name)):
                            inputs.add(os.path.join(local, name))
        if not any(f.endswith(".go") for f in inputs):
            raise GoSourceError(f"no Go files in {start}")
        return sorted(inputs)
