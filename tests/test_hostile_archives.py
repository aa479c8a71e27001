"""Hostile archives made by the test: nothing may be written outside the unpack directory, and bombs stop early.

Each case unpacks into <tmp>/box/out next to a sentinel file <tmp>/box/sentinel and a directory
<tmp>/outside; afterwards the sentinel must be unchanged and nothing may exist in <tmp>/outside.
"""
import hashlib
import io
import os
import stat
import tarfile
import zipfile
import zlib

import pytest

from sconsrules.errors import RuleError
from sconsrules.declare.sources import SourceSpec
from sconsrules.execute.fetch import unpack
from sconsrules.execute.tree import Limits

SYM, LNK, DIR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE


def tar_of(entries):
    """entries: (name, type, data or link target, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, payload, mode in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = mode
            if kind in (SYM, LNK):
                info.linkname = payload
                tar.addfile(info)
            elif kind == DIR:
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def F(name, data=b"x", mode=0o644):
    return (name, tarfile.REGTYPE, data, mode)


def S(name, target):
    return (name, SYM, target, 0o777)


def H(name, target):
    return (name, LNK, target, 0o644)


@pytest.fixture
def box(tmp_path):
    root = tmp_path / "box"
    (tmp_path / "outside").mkdir()
    root.mkdir()
    (root / "sentinel").write_text("untouched")
    return tmp_path


def run(box, data, limits=None, name="a.tar.gz"):
    archive = box / name
    archive.write_bytes(data)
    spec = SourceSpec("lib", (), hashlib.sha256(data).hexdigest(), "", limits or Limits())
    unpack(spec, str(archive), str(box / "box" / "out"))


def nothing_outside(box):
    assert (box / "box" / "sentinel").read_text() == "untouched"
    assert os.listdir(box / "outside") == []
    assert not (box / "box" / "out").exists(), "a refused archive leaves no tree"
    assert not (box / "box" / "out.sconsrules-tmp").exists()


HOSTILE = {
    # The audit's case: a chain of relative links, then a hard link and a file through the chain.
    "chained-links": [S("a", "."), S("a/u1", ".."), S("a/u2", "u1/.."), H("a/u2/u1/sentinel", "a/u2/u1/sentinel"),
                      F("a/u2/u1/sentinel", b"pwned")],
    # Links that each stay inside on their own, but whose combination leaves the tree.
    "link-combination": [F("sub/keep"), S("l1", "sub"), S("sub/l2", ".."), S("l3", "l1/l2/.."),
                         F("l3-unused")],
    "link-later-redirected": [S("s1", "x/.."), F("d/keep"), S("d/up", ".."), S("x", "d/up")],
    "write-through-inner-link": [S("d", "."), F("d/file")],
    "write-through-escaping-link": [S("esc", "../../outside"), F("esc/owned")],
    "absolute-link": [S("abs", "/etc/passwd")],
    "dotdot-entry": [F("../outside/owned")],
    "absolute-entry": [F("/tmp/owned-by-test")],
    "hardlink-out": [H("h", "../sentinel")],
    "hardlink-through-link": [S("l", "."), H("h", "l/x")],
    "hardlink-to-link": [S("l", "sub"), F("sub"), H("h", "l")],
    "link-loop": [S("a", "b"), S("b", "a")],
    "dir-replaced-by-link": [F("d/x"), S("d", "../../outside")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tar_is_refused_and_nothing_is_written_outside(box, case):
    with pytest.raises(RuleError, match="refusing to unpack"):
        run(box, tar_of(HOSTILE[case]))
    nothing_outside(box)


def test_a_file_replacing_a_link_does_not_write_through_it(box):
    run(box, tar_of([F("t", b"orig"), S("x", "t"), F("x", b"new")]))
    out = box / "box" / "out"
    assert (out / "t").read_bytes() == b"orig"
    assert not (out / "x").is_symlink() and (out / "x").read_bytes() == b"new"


def test_links_inside_the_tree_are_kept(box):
    run(box, tar_of([F("lib/libz.so.1.2.13"), S("lib/libz.so", "libz.so.1.2.13"), S("inc", "lib"),
                     H("lib/copy", "lib/libz.so.1.2.13")]))
    out = box / "box" / "out"
    assert os.readlink(out / "lib" / "libz.so") == "libz.so.1.2.13"
    assert (out / "lib" / "copy").read_bytes() == b"x" and not (out / "lib" / "copy").is_symlink()


def test_setuid_setgid_and_sticky_bits_are_dropped(box):
    run(box, tar_of([F("suid", b"#!/bin/sh\n", 0o4755), F("sgid", b"x", 0o2755), ("d", DIR, None, 0o1777)]))
    out = box / "box" / "out"
    for name in ("suid", "sgid", "d"):
        mode = stat.S_IMODE(os.lstat(out / name).st_mode)
        assert not mode & 0o7000, (name, oct(mode))
    assert stat.S_IMODE(os.lstat(out / "suid").st_mode) == 0o755


def _gzip_stream(write_tar):
    """A gzip'd tar written through a streaming compressor (the bomb never sits in memory uncompressed)."""
    out = io.BytesIO()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)

    class Sink:
        def write(self, data):
            out.write(compressor.compress(data))
            return len(data)

    with tarfile.open(fileobj=Sink(), mode="w|") as tar:
        write_tar(tar)
    out.write(compressor.flush())
    return out.getvalue()


def test_tar_bomb_is_refused_before_it_fills_the_disk(box):
    """A 2 GiB bomb is refused on its header's announced size, before a byte is written: the stream here is the
    header and its first MiB (all of a bomb the unpacker may ever read)."""
    info = tarfile.TarInfo("zeros")
    info.size = 2 << 30
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = compressor.compress(info.tobuf(tarfile.GNU_FORMAT) + bytes(1 << 20)) + compressor.flush()
    assert len(data) < 4 << 20
    with pytest.raises(RuleError, match="max_ratio") as err:
        run(box, data)
    assert "raise the limit" in err.value.line()
    nothing_outside(box)


def test_zip_bomb_is_refused(box):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("zeros", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(100):  # 100 MiB in ~100 KB: above the 64 MiB floor, a ratio of ~1000
                fh.write(block)
    with pytest.raises(RuleError, match="max_ratio"):
        run(box, buf.getvalue(), name="a.zip")
    nothing_outside(box)


def test_too_many_entries_and_a_raised_limit(box):
    def write(tar):
        for i in range(2000):
            tar.addfile(tarfile.TarInfo(f"f{i}"))

    data = _gzip_stream(write)
    with pytest.raises(RuleError, match="more than 1000 entries"):
        run(box, data, Limits(max_entries=1000))
    nothing_outside(box)
    with pytest.raises(RuleError, match="max_bytes"):
        run(box, tar_of([F("big", bytes(2000))]), Limits(max_bytes=1000))
    run(box, tar_of([F("big", bytes(2000))]), Limits(max_bytes=4000))
    assert (box / "box" / "out" / "big").stat().st_size == 2000
