"""SourceArchive: sha256 checks, mirrors in order, safe unpacking, and no network once the store has it."""
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile

import pytest

from sconsrules.errors import RuleError
from sconsrules.declare.sources import SourceSpec
from sconsrules.execute.fetch import fetch, store_dir, unpack


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def tar_bytes(entries, mode="w:gz"):
    """entries: (name, data or None for a dir, extra TarInfo fields)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data, extra in entries:
            info = tarfile.TarInfo(name)
            for key, value in extra.items():
                setattr(info, key, value)
            if data is None and not extra:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    return buf.getvalue()


GOOD = tar_bytes([("lib-1.0/", None, {}), ("lib-1.0/configure", b"#!/bin/sh\n", {"mode": 0o755}),
                  ("lib-1.0/src/a.c", b"int a;\n", {})])


class Server:
    """A loopback HTTP server serving fixed bytes at fixed paths, counting requests."""

    def __init__(self, files):
        self.files, self.requests = files, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                data = outer.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.end_headers()
                if data is not None:
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server({"/lib-1.0.tar.gz": GOOD, "/other.tar.gz": b"not the archive"})
    yield s
    s.close()


def spec(urls, data=GOOD, prefix="lib-1.0"):
    return SourceSpec("lib", tuple(urls), hashlib.sha256(data).hexdigest(), prefix)


def test_unreachable_mirror_then_good_mirror(server, tmp_path):
    s = spec(["http://127.0.0.1:9/lib.tar.gz", f"{server.url}/missing.tar.gz", f"{server.url}/lib-1.0.tar.gz"])
    path = fetch(s)
    assert path == os.path.join(store_dir(), s.sha256)
    unpack(s, path, str(tmp_path / "out"))
    assert (tmp_path / "out" / "src" / "a.c").read_text() == "int a;\n"
    assert os.access(tmp_path / "out" / "configure", os.X_OK)


def test_the_store_means_no_network_the_second_time(server):
    s = spec([f"{server.url}/lib-1.0.tar.gz"])
    fetch(s)
    server.close()
    assert fetch(s) == os.path.join(store_dir(), s.sha256)
    assert server.requests == ["/lib-1.0.tar.gz"]


def test_bad_sha256_is_refused_and_nothing_is_kept(server):
    s = SourceSpec("lib", (f"{server.url}/other.tar.gz",), hashlib.sha256(GOOD).hexdigest(), "lib-1.0")
    with pytest.raises(RuleError) as err:
        fetch(s)
    assert "sha256 " in err.value.line() and "does not match" in err.value.line()
    assert os.listdir(store_dir()) == []


def test_file_urls(tmp_path):
    archive = tmp_path / "lib.tar.gz"
    archive.write_bytes(GOOD)
    assert fetch(spec([f"file://{archive}"])).endswith(hashlib.sha256(GOOD).hexdigest())


@pytest.mark.parametrize("entries, why", [
    ([("../evil", b"x", {})], "climbs out of the tree"),
    ([("/etc/evil", b"x", {})], "absolute path"),
    ([("lib-1.0/dev", None, {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3})], "device or FIFO"),
    ([("lib-1.0/fifo", None, {"type": tarfile.FIFOTYPE})], "device or FIFO"),
    ([("lib-1.0/abs", None, {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})], "absolute path"),
    ([("lib-1.0/up", None, {"type": tarfile.SYMTYPE, "linkname": "../../../etc"})], "leaves the tree"),
    ([("lib-1.0/hard", None, {"type": tarfile.LNKTYPE, "linkname": "../../etc/passwd"})], "climbs out of the tree"),
])
def test_unsafe_tar_entries_are_refused(tmp_path, entries, why):
    data = tar_bytes(entries)
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(data)
    dest = tmp_path / "out"
    with pytest.raises(RuleError, match=why):
        unpack(spec([], data), str(archive), str(dest))
    assert not dest.exists() and not (tmp_path / "evil").exists()


def test_zip_and_xz_and_bz2(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lib-1.0/a.c", "int a;\n")
    for name, data in [("a.zip", buf.getvalue()), ("a.tar.xz", tar_bytes([("lib-1.0/a.c", b"int a;\n", {})], "w:xz")),
                       ("a.tar.bz2", tar_bytes([("lib-1.0/a.c", b"int a;\n", {})], "w:bz2"))]:
        archive = tmp_path / name
        archive.write_bytes(data)
        unpack(spec([], data), str(archive), str(tmp_path / f"out-{name}"))
        assert (tmp_path / f"out-{name}" / "a.c").read_text() == "int a;\n"


def test_zip_traversal_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.c", "x")
    archive = tmp_path / "bad.zip"
    archive.write_bytes(buf.getvalue())
    with pytest.raises(RuleError, match="climbs out of the tree"):
        unpack(spec([], buf.getvalue()), str(archive), str(tmp_path / "out"))


def test_missing_strip_prefix(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(GOOD)
    with pytest.raises(RuleError, match="strip_prefix 'lib-2.0' is not a directory of the archive"):
        unpack(spec([], GOOD, "lib-2.0"), str(archive), str(tmp_path / "out"))


def q_library_tarball():
    """A tiny library with a Makefile that installs libq.a and q.h (a ForeignCLib with build='make')."""
    return tar_bytes([("lib-1.0/", None, {}),
                      ("lib-1.0/Makefile", b"libq.a: q.o\n\t$(AR) rcsD $@ q.o\ninstall: libq.a\n"
                       b"\tmkdir -p $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include\n"
                       b"\tcp libq.a $(DESTDIR)$(PREFIX)/lib/\n\tcp q.h $(DESTDIR)$(PREFIX)/include/\n", {}),
                      ("lib-1.0/q.c", b"int q(void) { return 42; }\n", {}), ("lib-1.0/q.h", b"int q(void);\n", {})])


def test_in_a_build_bad_sha_is_one_line_and_the_fix_is_clean(project, server, monkeypatch):
    """Through scons: a ForeignCLib from a loopback server; wrong sha256 first, then the right one."""
    from conftest import require
    require("zig")
    lib = q_library_tarball()
    server.files["/lib-1.0.tar.gz"] = lib
    good = hashlib.sha256(lib).hexdigest()
    script = ("env = Environment(tools=['default', 'sconsrules'])\n"
              f"src = env.SourceArchive('q-src', urls=['http://127.0.0.1:9/x.tar.gz', '{server.url}/lib-1.0.tar.gz'],"
              " sha256='SHA', strip_prefix='lib-1.0')\n"
              "env.ForeignCLib('q', source=src, build='make', outputs=['lib/libq.a'], includes=['include'])\n")
    project.write("SConstruct", script.replace("SHA", "0" * 64))
    result = project.scons(check=False)
    assert result.returncode == 2
    assert "SourceArchive 'q-src': no mirror served the archive" in result.stderr and "does not match" in result.stderr
    assert not os.path.exists(project.path("build", "_src", "q-src-000000000000"))
    project.write("SConstruct", script.replace("SHA", good))
    built = project.scons()
    assert "ForeignCLib q: make build" in built.stdout
    assert os.path.isfile(project.path("build/linux-amd64-musl-zig/_foreign/q/usr/local/lib/libq.a"))
    assert project.scons().stdout.strip() == "scons: `.' is up to date."


def test_a_distdir_serves_by_file_name_or_sha256_before_any_url(tmp_path, server):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "lib-1.0.tar.gz").write_bytes(GOOD)
    s = spec(["http://127.0.0.1:9/mirror/lib-1.0.tar.gz"])
    assert fetch(s, [str(dist)]) == os.path.join(store_dir(), s.sha256)
    os.remove(os.path.join(store_dir(), s.sha256))
    os.rename(dist / "lib-1.0.tar.gz", dist / s.sha256)
    assert fetch(s, [str(dist)]) == os.path.join(store_dir(), s.sha256)
    assert server.requests == []


def test_wrong_bytes_in_a_distdir_are_passed_over(tmp_path, server):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "lib-1.0.tar.gz").write_bytes(b"not the archive")
    s = spec([f"{server.url}/lib-1.0.tar.gz"])
    assert fetch(s, [str(dist)]) == os.path.join(store_dir(), s.sha256)
    assert server.requests == ["/lib-1.0.tar.gz"]
    os.remove(os.path.join(store_dir(), s.sha256))
    with pytest.raises(RuleError) as err:
        fetch(spec(["http://127.0.0.1:9/lib-1.0.tar.gz"]), [str(dist)])
    assert f"{dist}/lib-1.0.tar.gz: sha256 " in err.value.line() and "nor any of" in err.value.line()


def test_distdir_option_through_scons(project, tmp_path):
    """`scons --distdir=DIR` unpacks an archive whose only URL is unreachable (a machine without internet)."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "lib-1.0.tar.gz").write_bytes(GOOD)
    project.write("SConstruct", "env = Environment(tools=['default', 'sconsrules'])\n"
                  "src = env.SourceArchive('lib', urls=['http://127.0.0.1:9/lib-1.0.tar.gz'], "
                  f"sha256='{hashlib.sha256(GOOD).hexdigest()}', strip_prefix='lib-1.0')\n"
                  "env.Alias('src', src)\n")
    project.scons(f"--distdir={dist}", "src")
    unpacked = [d for d in os.listdir(project.path("build", "_src")) if not d.endswith(".stamp")]
    assert open(project.path("build", "_src", unpacked[0], "src", "a.c")).read() == "int a;\n"


def test_apt_mirrors_are_read_from_both_formats(tmp_path):
    from sconsrules import apt_mirrors
    (tmp_path / "sources.list").write_text("# a comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m1.example/debian "
                                           "bookworm main\ndeb-src http://m1.example/debian/ bookworm main\n")
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "a.sources").write_text("Types: deb\n# note\nURIs: http://m2.example/debian https://m3.example/d\n"
                                 "Suites: bookworm\n\nTypes: deb\nURIs: http://off.example/x\nEnabled: no\n")
    (d / "b.list.disabled").write_text("deb http://ignored.example/x bookworm main\n")
    assert apt_mirrors((str(tmp_path / "sources.list"), str(d))) == [
        "http://m1.example/debian", "http://m2.example/debian", "https://m3.example/d"]
