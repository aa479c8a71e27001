"""The output cache (CAS + action entries on disk): a faithful round trip, and every tampered entry a miss."""
import json
import os

import pytest

from sconsrules.execute import cache


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCONSRULES_OUTPUT_CACHE", str(tmp_path / "cache"))


def make_tree(root):
    os.makedirs(os.path.join(root, "usr/local/lib"))
    os.makedirs(os.path.join(root, "usr/local/share/empty"))
    with open(os.path.join(root, "usr/local/lib/libq.a"), "wb") as fh:
        fh.write(b"!<arch>\n" + bytes(range(256)))
    with open(os.path.join(root, "usr/local/bin-tool"), "w") as fh:
        fh.write("#!/bin/sh\n")
    os.chmod(os.path.join(root, "usr/local/bin-tool"), 0o755)
    os.symlink("libq.a", os.path.join(root, "usr/local/lib/libq-1.a"))


def entry(key):
    return os.path.join(os.environ["SCONSRULES_OUTPUT_CACHE"], "ac", key[:2], key + ".json")


def test_round_trip(tmp_path):
    make_tree(tmp_path / "src")
    key = cache.key_of("sig", ["a", "b"])
    cache.store(key, str(tmp_path / "src"))
    dest = tmp_path / "dest"
    assert cache.restore(key, str(dest), "ForeignCLib 'q'")
    assert (dest / "usr/local/lib/libq.a").read_bytes() == b"!<arch>\n" + bytes(range(256))
    assert os.access(dest / "usr/local/bin-tool", os.X_OK)
    assert os.readlink(dest / "usr/local/lib/libq-1.a") == "libq.a"
    assert (dest / "usr/local/share/empty").is_dir()
    assert not cache.restore(cache.key_of("other", []), str(tmp_path / "none"), "x")


def _stored(tmp_path):
    make_tree(tmp_path / "src")
    key = cache.key_of("sig", [])
    cache.store(key, str(tmp_path / "src"))
    return key


def test_changed_content_is_a_miss_with_one_warning(tmp_path, capsys):
    key = _stored(tmp_path)
    with open(entry(key)) as fh:
        files = json.load(fh)["files"]
    digest = [d for p, d, _, _ in files if p.endswith("libq.a")][0]
    blob = os.path.join(os.environ["SCONSRULES_OUTPUT_CACHE"], "cas", digest[:2], digest)
    data = bytearray(open(blob, "rb").read())
    data[20] ^= 0xFF  # one code byte
    open(blob, "wb").write(bytes(data))
    dest = tmp_path / "dest"
    assert not cache.restore(key, str(dest), "ForeignCLib 'q'")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "ForeignCLib 'q': output cache entry" in out
    assert "does not match its digest" in out
    assert not dest.exists() and not os.path.exists(entry(key)) and not os.path.exists(blob)


@pytest.mark.parametrize("tamper, why", [
    (lambda e: e["symlinks"].append(["usr/local/lib2", "/elsewhere"]), "absolute path"),
    (lambda e: e["symlinks"].append(["usr/up", "../../.."]), "leaves the tree"),
    (lambda e: e["files"].append(["../../escaped", e["files"][0][1], 1, False]), "climbs out of the tree"),
    (lambda e: e["files"].append(["usr/local/lib/libq-1.a/x", e["files"][0][1], 1, False]), "replace a directory"),
    (lambda e: e.update(format=99), "format 99"),
    (lambda e: e.update(files=[["a", "zz", 1, False]]), "malformed"),
])
def test_tampered_entries_are_misses(tmp_path, capsys, tamper, why):
    key = _stored(tmp_path)
    with open(entry(key)) as fh:
        data = json.load(fh)
    tamper(data)
    with open(entry(key), "w") as fh:
        json.dump(data, fh)
    (tmp_path / "box").mkdir()
    dest = tmp_path / "box" / "dest"
    assert not cache.restore(key, str(dest), "ForeignCLib 'q'")
    assert why in capsys.readouterr().out
    assert not dest.exists() and os.listdir(tmp_path / "box") == []
    assert not os.path.exists(tmp_path / "escaped")


def test_a_corrupt_entry_is_a_miss_not_an_error(tmp_path, capsys):
    key = _stored(tmp_path)
    with open(entry(key), "wb") as fh:
        fh.write(b"\x00\x01garbage")
    assert not cache.restore(key, str(tmp_path / "dest"), "ForeignCLib 'q'")
    assert "unreadable entry" in capsys.readouterr().out
    cache.store(key, str(tmp_path / "src"))
    assert cache.restore(key, str(tmp_path / "dest"), "ForeignCLib 'q'")


def test_the_cache_is_trimmed_least_recently_used_first(tmp_path):
    """Over its bound, entries go oldest-used first (a restore counts as a use), with the blobs only they named;
    a blob another entry still names stays."""
    trees = {}
    for name in ("old", "used", "new"):
        src = tmp_path / name
        os.makedirs(src / "lib")
        (src / "lib" / "shared.a").write_bytes(b"shared" * 100)
        (src / "lib" / f"{name}.a").write_bytes(name.encode() * 10_000)
        trees[name] = cache.key_of(name, [])
        cache.store(trees[name], str(src))
    for age, name in enumerate(("old", "used", "new")):
        os.utime(entry(trees[name]), (1_000_000 + age, 1_000_000 + age))
    assert cache.restore(trees["used"], str(tmp_path / "restored"), "x")  # now the most recently used
    # 100,600 bytes of blobs; a bound of 80,000 trims to 90% of it: "old" alone must go
    assert cache.trim(limit=80_000) == 30_000
    assert not os.path.exists(entry(trees["old"]))
    for name in ("used", "new"):
        assert cache.restore(trees[name], str(tmp_path / f"again-{name}"), "x")
        assert (tmp_path / f"again-{name}" / "lib" / "shared.a").read_bytes() == b"shared" * 100
    assert cache.trim(limit=1 << 30) == 0  # under the bound: nothing to do


def test_the_size_bound_is_read_from_the_environment(monkeypatch):
    for text, value in (("", cache.DEFAULT_MAX), ("5G", 5 << 30), ("512M", 512 << 20), ("1000", 1000),
                        ("lots", cache.DEFAULT_MAX)):
        monkeypatch.setenv("SCONSRULES_OUTPUT_CACHE_MAX", text)
        assert cache.max_bytes() == value
