"""Go's build information, read from the binary itself (no `go version -m` subprocess).

Layout (Go >= 1.18): a 32-byte header (magic, pointer size, flags with bit 1 = inline strings), then two
uvarint-length-prefixed strings: the Go version and the module info, the latter wrapped in 16-byte sentinels.
"""
import attrs

from .errors import MalformedInput

MAGIC = b"\xff Go buildinf:"
HEADER = 32


@attrs.frozen
class Module:
    path: str
    version: str
    sum: str = ""
    replaced_by: str = ""


@attrs.frozen
class GoBuildInfo:
    go_version: str
    path: str  # the main package
    main: Module
    deps: tuple
    settings: tuple  # (key, value) pairs in file order

    def setting(self, key, default=None):
        return dict(self.settings).get(key, default)

    def to_json(self):
        return {
            "go_version": self.go_version, "path": self.path, "main": attrs.asdict(self.main),
            "deps": [attrs.asdict(d) for d in self.deps], "settings": dict(self.settings),
        }


def _uvarint(data, pos):
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise MalformedInput("Go buildinfo: truncated length")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _string(data, pos):
    length, pos = _uvarint(data, pos)
    if pos + length > len(data):
        raise MalformedInput("Go buildinfo: string runs past the end")
    return data[pos:pos + length].decode("utf-8", errors="replace"), pos + length


def parse_modinfo(text):
    if len(text) >= 33 and text[-17] == "\n":
        text = text[16:-16]
    path, main, deps, settings = "", Module("", ""), [], []
    for line in text.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "path" and len(fields) > 1:
            path = fields[1]
        elif kind in ("mod", "dep") and len(fields) > 2:
            module = Module(fields[1], fields[2], fields[3] if len(fields) > 3 else "")
            if kind == "mod":
                main = module
            else:
                deps.append(module)
        elif kind == "=>" and len(fields) > 2 and deps:
            deps[-1] = attrs.evolve(deps[-1], replaced_by=f"{fields[1]} {fields[2]}".strip())
        elif kind == "build" and len(fields) > 1:
            key, _, value = fields[1].partition("=")
            settings.append((key, value))
    return path, main, tuple(deps), tuple(settings)


def find_blob(elf_sections, writable_segments):
    """The bytes starting at the buildinfo header: the named section, else a scan of writable segments."""
    for name, data in elf_sections:
        if name == ".go.buildinfo":
            return data
    for data in writable_segments:
        at = data.find(MAGIC)
        while at >= 0:
            if at % 16 == 0:
                return data[at:]
            at = data.find(MAGIC, at + 1)
    return None


def parse_blob(blob):
    if blob is None or not blob.startswith(MAGIC):
        return None
    if len(blob) < HEADER:
        raise MalformedInput("Go buildinfo: truncated header")
    flags = blob[15]
    if not flags & 2:
        raise MalformedInput("Go buildinfo: pointer-based layout (Go < 1.18) is not supported")
    version, pos = _string(blob, HEADER)
    modinfo, _ = _string(blob, pos)
    path, main, deps, settings = parse_modinfo(modinfo)
    return GoBuildInfo(version, path, main, deps, settings)
