"""The dependency manifest a GoCgoBinary carries in its ELF section `.sconsrules.deps` (as cargo-auditable does
for Rust): the C libraries linked in, the toolchain and the platform; Go's own modules are in Go's build info.

Layout: MAGIC (16 bytes, the format's version in its last byte), then zlib-compressed JSON with sorted keys.
The section is allocated (it survives `strip`), and its bytes depend only on what was linked. Reading treats
the file as hostile: the section's size and the decompressed size are bounded.
"""
import json
import zlib
from typing import Optional

SECTION = ".sconsrules.deps"
MAGIC = b"SCONSRULES-DEPS\x01"
# The record's own version (its "format" key), a fact of every manifest step: a reader may see records of any
# earlier format; 2 added the C of Go modules (go_modules_c) and pkg-config versions.
RECORD_FORMAT = 2
MAX_SECTION = 1 << 20
MAX_JSON = 8 << 20


class BadManifest(ValueError):
    """A section that is there but is not a manifest this reader understands."""


def encode(record: dict) -> bytes:
    return MAGIC + zlib.compress(json.dumps(record, sort_keys=True, separators=(",", ":")).encode(), 9)


def decode(data: bytes) -> dict:
    if not data.startswith(MAGIC[:-1]):
        raise BadManifest("no manifest magic")
    if data[len(MAGIC) - 1:len(MAGIC)] != MAGIC[-1:]:
        raise BadManifest(f"manifest format {data[len(MAGIC) - 1]} (this reader knows {MAGIC[-1]})")
    inflate = zlib.decompressobj()
    try:
        text = inflate.decompress(data[len(MAGIC):], MAX_JSON)
    except zlib.error as exc:
        raise BadManifest(f"compressed data is damaged: {exc}") from None
    if inflate.unconsumed_tail:
        raise BadManifest(f"larger than {MAX_JSON >> 20} MB")
    if not inflate.eof:
        raise BadManifest("compressed data is truncated")
    # After the data: zero padding (the object's array has a size class); in binaries linked before the object
    # went to -extldflags, the same bytes again once per cgo package (Go repeats CGO_LDFLAGS); nothing else.
    copy, rest = data[:len(data) - len(inflate.unused_data)], inflate.unused_data.lstrip(b"\0")
    while rest:
        if not rest.startswith(copy):
            raise BadManifest("bytes after the compressed data that are neither padding nor the same manifest")
        rest = rest[len(copy):].lstrip(b"\0")
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise BadManifest(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise BadManifest("not a JSON object")
    return record


def read(path: str) -> Optional[dict]:
    """The manifest of the ELF file at `path`, None without the section; BadManifest when it is malformed."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as fh:
        try:
            elf = ELFFile(fh)
            section = elf.get_section_by_name(SECTION)
            if section is None:
                return None
            if section["sh_size"] > MAX_SECTION:
                raise BadManifest(f"section of {section['sh_size']} bytes (at most {MAX_SECTION})")
            data = section.data()
        except ELFError as exc:
            raise BadManifest(f"not a readable ELF file: {exc}") from None
    return decode(data)  # the object's array is padded with zeros to its size class (execute/manifest.py)
