"""A small reader of `ar` archives (GNU and BSD name formats): members with their header fields.

Written here rather than shelling out to `ar`, because verification must not depend on which binutils
the host has, and must treat a hostile file as data.
"""
import attrs

from .errors import MalformedInput

AR_MAGIC = b"!<arch>\n"


@attrs.frozen
class Member:
    name: str
    mtime: int
    uid: int
    gid: int
    mode: int
    data: bytes = attrs.field(repr=False)


def _num(field, base, what):
    text = field.strip()
    if not text:
        return 0
    try:
        return int(text, base)
    except ValueError:
        raise MalformedInput(f"archive member header has a bad {what}: {field!r}") from None


def read_archive(data):
    """The regular members of an ar archive (symbol tables and the long-name table left out)."""
    if not data.startswith(AR_MAGIC):
        raise MalformedInput("not an ar archive (bad magic)")
    pos, longnames, members = len(AR_MAGIC), b"", []
    while pos < len(data):
        header = data[pos:pos + 60]
        if len(header) < 60 or header[58:60] != b"`\n":
            raise MalformedInput(f"truncated or corrupt archive member header at offset {pos}")
        raw_name = header[0:16].decode("latin-1").rstrip()
        size = _num(header[48:58], 10, "size")
        body = data[pos + 60:pos + 60 + size]
        if len(body) != size:
            raise MalformedInput(f"archive member {raw_name!r} is truncated")
        pos += 60 + size + (size & 1)
        if raw_name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED"):
            continue
        if raw_name == "//":
            longnames = body
            continue
        name = raw_name
        if raw_name.startswith("#1/"):
            length = _num(raw_name[3:].encode(), 10, "BSD name length")
            name, body = body[:length].decode("latin-1").rstrip("\0"), body[length:]
        elif raw_name.startswith("/") and raw_name[1:].isdigit():
            start = int(raw_name[1:])
            end = longnames.find(b"/\n", start)
            if start >= len(longnames) or end < 0:
                raise MalformedInput(f"archive long name {raw_name!r} points outside the name table")
            name = longnames[start:end].decode("latin-1")
        name = name.rstrip("/")
        members.append(Member(name, _num(header[16:28], 10, "mtime"), _num(header[28:34], 10, "uid"),
                              _num(header[34:40], 10, "gid"), _num(header[40:48], 8, "mode"), body))
    return members
