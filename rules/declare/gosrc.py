"""Which files a Go package build reads, found by reading sources (no `go list`, no subprocess).

A null build must not start `go`, and SCons runs scanners under its scheduler's lock (no subprocess there);
so this follows the imports of the package through the packages of its own module (and local `replace`
targets and vendor/), plus cgo C files, embedded files, go.mod and go.sum. Build constraints are ignored on
purpose: over-approximating costs at worst a rebuild, never a missed one.
"""
import fnmatch
import os
import re

from typing import Optional

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
# A cgo directive that links something: anywhere in the file, in a comment or not (more hits, never fewer).
_CGO_LINKS = re.compile(r"^\s*(?://\s*)?#cgo\b[^\n:]*\b(?:LDFLAGS|pkg-config)\s*:", re.M)


class GoSourceError(Exception):
    pass


@attrs.frozen
class GoModule:
    root: str
    path: str
    replaces: tuple  # (import path prefix, local directory): replace directives and the workspace's other modules
    workspace: Optional[str] = None  # the go.work that applies (found at or above the module, as go finds it)


# Build constraints (go/build): file-name suffixes and //go:build lines, evaluated per configuration so that a
# file another platform's build would use is not an input of this one.
KNOWN_OS = frozenset("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 "
                     "solaris wasip1 windows zos".split())
KNOWN_ARCH = frozenset("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 "
                       "mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm".split())
UNIX = frozenset("aix android darwin dragonfly freebsd hurd illumos ios linux netbsd openbsd solaris".split())
HEADERS = (".h", ".hh", ".hpp", ".hxx")  # included, not compiled: kept whatever their name says
UNCONSTRAINED = (".a", ".o", ".syso") + HEADERS  # never read for a //go:build line
HEAD_BYTES = 16384
_BUILD_LINE = re.compile(r"^//go:build\s+(.+?)\s*$")
_TOKEN = re.compile(r"\s*(\(|\)|!|&&|\|\||[A-Za-z0-9_.]+)")


@attrs.frozen
class BuildContext:
    """What decides which files a build compiles: GOOS, GOARCH and the build tags."""

    goos: str
    goarch: str
    tags: frozenset = frozenset()

    def satisfies(self, tag):
        if tag in (self.goos, self.goarch, "gc", "cgo") or tag in self.tags:
            return True
        if tag == "unix":
            return self.goos in UNIX
        return bool(re.fullmatch(r"go1\.\d+", tag))  # any release tag: kept (more inputs, never fewer)

    def matches_name(self, name):
        """The _GOOS, _GOARCH and _GOOS_GOARCH suffixes of a file name."""
        parts = os.path.splitext(name)[0].split("_")
        if len(parts) >= 3 and parts[-2] in KNOWN_OS and parts[-1] in KNOWN_ARCH:
            return parts[-2] == self.goos and parts[-1] == self.goarch
        if len(parts) >= 2 and parts[-1] in KNOWN_OS:
            return parts[-1] == self.goos or (parts[-1] == "linux" and self.goos == "android")
        if len(parts) >= 2 and parts[-1] in KNOWN_ARCH:
            return parts[-1] == self.goarch
        return True

    def evaluate(self, expression):
        """A //go:build expression (!, &&, ||, parentheses); one that cannot be parsed counts as true."""
        tokens = _TOKEN.findall(expression)
        if "".join(tokens) != re.sub(r"\s+", "", expression):
            return True
        pos = 0

        def parse_binary(op, operand):
            """operand (op operand)*: every operand is parsed, then combined."""
            nonlocal pos
            values = [operand()]
            while pos < len(tokens) and tokens[pos] == op:
                pos += 1
                values.append(operand())
            return any(values) if op == "||" else all(values)

        def parse_or():
            return parse_binary("||", parse_and)

        def parse_and():
            return parse_binary("&&", parse_not)

        def parse_not():
            nonlocal pos
            if pos >= len(tokens):
                raise ValueError("incomplete")
            token = tokens[pos]
            pos += 1
            if token == "!":
                return not parse_not()
            if token == "(":
                value = parse_or()
                if pos >= len(tokens) or tokens[pos] != ")":
                    raise ValueError("unbalanced")
                pos += 1
                return value
            if token in (")", "&&", "||"):
                raise ValueError("unexpected")
            return self.satisfies(token)

        try:
            value = parse_or()
        except ValueError:
            return True
        return value if pos == len(tokens) else True


def build_line(text):
    """The //go:build expression of a source file (in its leading comments), or None."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("//"):
            break
        match = _BUILD_LINE.match(stripped)
        if match:
            return match.group(1)
    return None


def _find_up(start, name):
    """The directory at or above `start` that holds `name`, or None (as go finds go.mod and go.work)."""
    d = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(d, name)):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def find_module_root(start):
    return _find_up(start, "go.mod")


def find_workspace(root):
    """The go.work that governs a module at `root` ($GOWORK is not read: the build sets it), or None."""
    found = _find_up(root, "go.work")
    return os.path.join(found, "go.work") if found else None


def _read_go_file(path):
    """A go.mod or go.work without its comments."""
    try:
        with open(path, errors="replace") as fh:
            return _COMMENT.sub("", fh.read())
    except OSError as exc:
        raise GoSourceError(f"cannot read {path}: {exc.strerror}") from None


def _module_path(root, text):
    match = re.search(r"^\s*module\s+\"?([^\s\"]+)\"?", text, re.M)
    if not match:
        raise GoSourceError(f"{root}/go.mod has no module line")
    return match.group(1)


def _local_replaces(text, base):
    """(import path prefix, directory) of the replace directives that point at a local directory."""
    return [(old, os.path.normpath(os.path.join(base, new)))
            for old, new in re.findall(r"^\s*(?:replace\s+)?(\S+)(?:\s+\S+)?\s+=>\s+(\S+)\s*$", text, re.M)
            if new.startswith(("./", "../", "/"))]


def _workspace_modules(path):
    """(module path, directory) of every `use` of a go.work, and its local replaces."""
    text = _read_go_file(path)
    base = os.path.dirname(path)
    uses = []
    for block in re.findall(r"^\s*use\s*\((.*?)\)", text, re.M | re.S):
        uses += block.split()
    uses += re.findall(r"^\s*use\s+([^\s(]+)\s*$", text, re.M)
    found = []
    for use in uses:
        directory = os.path.normpath(os.path.join(base, use.strip('"')))
        gomod = os.path.join(directory, "go.mod")
        if os.path.isfile(gomod):
            found.append((_module_path(directory, _read_go_file(gomod)), directory))
    return found + _local_replaces(text, base)


def read_module(root):
    text = _read_go_file(os.path.join(root, "go.mod"))
    replaces = _local_replaces(text, root)
    workspace = find_workspace(root)
    if workspace:
        replaces += [(path, d) for path, d in _workspace_modules(workspace) if d != root]
    return GoModule(root, _module_path(root, text), tuple(replaces), workspace)


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


@attrs.frozen
class LinkFacts:
    """What the read-time index proves about a build's link (execute/golinks.py needs `go list` only when it
    cannot): `closed` when every package it compiles is in the standard library or in the module's own tree
    (no required, replaced, vendored or nested module) and no #cgo directive of those packages links anything
    (LDFLAGS, pkg-config): then no package can bring an archive to verify or C for the dependency manifest.
    `cgo`: some package of the build imports "C"."""

    closed: bool
    cgo: bool


def is_standard(import_path):
    """The standard library's import paths: no dot in the first element (go's own rule)."""
    return "." not in import_path.split("/", 1)[0]


class GoSourceIndex:
    """Memoized per run (one per Context): one SConstruct with many binaries reads each package once."""

    def __init__(self):
        self._packages = {}

    def _sources(self, pkg_dir):
        """(directory exists, ((file, its //go:build expression, the files and imports it brings), ...))."""
        if pkg_dir not in self._packages:
            sources = []
            try:
                names = sorted(os.listdir(pkg_dir))
            except OSError:
                names = None
            for name in names or ():
                path = os.path.join(pkg_dir, name)
                if not name.endswith(SOURCE_SUFFIXES) or name.endswith("_test.go") or not os.path.isfile(path):
                    continue
                expression, brings, imports, links = None, [path], (), False
                if not name.endswith(UNCONSTRAINED):
                    with open(path, errors="replace") as fh:
                        # A Go file is read whole (imports, embeds); another needs only its leading comments
                        # (a cgo package may hold a multi-megabyte C amalgamation).
                        text = fh.read() if name.endswith(".go") else fh.read(HEAD_BYTES)
                    expression = build_line(text)
                    if name.endswith(".go"):
                        found, embeds = parse_go_file(text)
                        imports = tuple(found)
                        links = bool(_CGO_LINKS.search(text))
                        for pattern in embeds:
                            brings += _embedded(pkg_dir, pattern)
                sources.append((path, expression, tuple(brings), imports, links))
            self._packages[pkg_dir] = (names is not None, tuple(sources))
        return self._packages[pkg_dir]

    def _package(self, pkg_dir, context=None):
        """(exists, files, imports, whether a #cgo directive links something) of a package directory; with a
        BuildContext, only what that build compiles (a header is kept whatever its name: it is included, not
        compiled)."""
        exists, sources = self._sources(pkg_dir)
        files, imports, links = [], set(), False
        for path, expression, brings, found, linking in sources:
            if context is not None and not path.endswith(HEADERS):
                if not context.matches_name(os.path.basename(path)):
                    continue
                if expression is not None and not context.evaluate(expression):
                    continue
            files += brings
            imports.update(found)
            links = links or linking
        return exists, tuple(files), frozenset(imports), links

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

    def package_inputs(self, module, package, context=None):
        """Every file the build of `package` (a path relative to module.root) reads from this tree; with a
        BuildContext, only the files that build compiles (and the packages they import)."""
        start = os.path.normpath(os.path.join(module.root, package))
        exists = self._package(start)[0]
        if not exists:
            raise GoSourceError(f"package directory {start} does not exist")
        inputs = {os.path.join(module.root, "go.mod")}
        for extra in ("go.sum", os.path.join("vendor", "modules.txt")):
            if os.path.isfile(os.path.join(module.root, extra)):
                inputs.add(os.path.join(module.root, extra))
        if module.workspace:
            inputs.update(p for p in (module.workspace, module.workspace + ".sum") if os.path.isfile(p))
        for pkg_dir, (_, files, _, _) in self._closure(start, context, lambda imp: self._local_dir(module, imp)):
            inputs.update(files)
            for _, local in module.replaces:
                if pkg_dir.startswith(local + os.sep) or pkg_dir == local:
                    for name in ("go.mod", "go.sum"):
                        if os.path.isfile(os.path.join(local, name)):
                            inputs.add(os.path.join(local, name))
        if not any(f.endswith(".go") for f in inputs):
            raise GoSourceError(f"no Go files in {start}")
        return sorted(inputs)

    def _closure(self, start, context, local):
        """(directory, _package(directory, context)) of each package reached from `start` once, following the
        imports that `local` maps to a directory (None: not followed)."""
        seen, todo = set(), [start]
        while todo:
            pkg_dir = todo.pop()
            if pkg_dir in seen:
                continue
            seen.add(pkg_dir)
            package = self._package(pkg_dir, context)
            yield pkg_dir, package
            todo += [d for d in map(local, package[2]) if d and d not in seen]

    def link_facts(self, module, package, context):
        """LinkFacts of the build of `package` in `context`: its packages followed through the module's own
        tree only; any other import (but the standard library's) leaves it open."""
        closed = not os.path.isdir(os.path.join(module.root, "vendor"))
        cgo = False

        def own(imp):
            if any(imp == prefix or imp.startswith(prefix + "/") for prefix, _ in module.replaces):
                return None  # another module, replaced or in the workspace
            if imp == module.path or imp.startswith(module.path + "/"):
                return os.path.join(module.root, imp[len(module.path):].lstrip("/"))
            return None

        start = os.path.normpath(os.path.join(module.root, package))
        for pkg_dir, (exists, files, imports, links) in self._closure(start, context, own):
            # A directory missing here is a package go finds elsewhere (a required module of a longer path).
            closed = (closed and exists and any(f.endswith(".go") for f in files) and not links
                      and find_module_root(pkg_dir) == module.root  # not a nested module's directory
                      # anything else but the standard library: its flags are known only to go list
                      and all(own(imp) or is_standard(imp) for imp in imports - {"C"}))
            cgo = cgo or "C" in imports
        return LinkFacts(closed, cgo)
