"""The main job: the top-level SConstruct builds every example for amd64 and arm64, and they run."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from conftest import REPO, Project, require, run_binary, run_binary_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # the tls example builds OpenSSL (cached afterwards)

EXPECTED = {
    "hello-cgo/hello-cgo": "hello from cgo: 42\n",
    "clib-chain/chain": "chain: mid=77 base=7 k=7\n",
    "sqlite/sqlite-query": "sqlite 3.50.4: sum=42\n",
    "cxx/shapes-app": "circle area=15 caught=-1 own=hello from c++2017\n",
}


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    require("zig")
    root = tmp_path_factory.mktemp("main")
    shutil.copy(os.path.join(REPO, "SConstruct"), root)
    shutil.copy(os.path.join(REPO, "README.md"), root)  # the release packs it
    shutil.copytree(os.path.join(REPO, "examples"), root / "examples")
    project = Project(root)
    return project, project.scons()


@pytest.mark.parametrize("platform", ["linux/amd64", "linux/arm64"])
@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_examples_run(main_job, example, platform):
    project, _ = main_job
    config = f"linux-{platform.split('/')[1]}-musl-zig"
    result = run_binary(project.path("build", config, "examples", example), platform)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED[example]


def test_summary_table_lists_every_artifact(main_job):
    _, result = main_job
    table = result.stdout.split("sconsrules: artifacts (verified)")[1].splitlines()
    assert table[1].split() == ["artifact", "platform", "toolchain", "size", "link", "libc", "sha256"]
    rows = [line.split() for line in table[2:] if line.strip()]
    assert len(rows) == 2 * 5
    for row in rows:
        assert row[2] == "zig" and row[5] == "static" and row[6] == "musl" and len(row[7]) == 12


def test_null_build_of_the_examples(main_job):
    project, _ = main_job
    assert project.scons().steps() == []
    assert project.scons("-q").returncode == 0


def test_tool_loads_from_an_installed_package(tmp_path):
    """Outside a checkout (no site_scons): `import sconsrules` is the one line a project adds."""
    require("zig")
    project = Project(tmp_path)
    project.copy_example("hello-cgo")
    project.write("SConstruct", "import sconsrules\n\nenv = Environment(tools=['default', 'sconsrules'])\n"
                                "SConscript('SConscript', exports='env')\n")
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q", "--platforms=linux/amd64"], cwd=project.root,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_binary(project.path("build", "linux-amd64-musl-zig", "hello-cgo"), "linux/amd64").stdout == \
        "hello from cgo: 42\n"


@pytest.fixture
def tls_server(tmp_path):
    """A local HTTPS server on 127.0.0.1 with a certificate made for this test."""
    import http.server
    import ssl
    import threading
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"hello over TLS\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], str(cert)
    server.shutdown()


@pytest.mark.parametrize("platform", ["linux/amd64", "linux/arm64"])
def test_tls_example_handshakes_through_openssl(main_job, tls_server, platform):
    project, _ = main_job
    port, cert = tls_server
    binary = project.path("build", f"linux-{platform.split('/')[1]}-musl-zig", "examples", "tls", "tlsclient")
    result = run_binary_args(binary, platform, ["127.0.0.1", str(port), cert])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("TLSv1.3 ") and "OpenSSL 3.0." in lines[0] and "zlib 1.2.13" in lines[0]
    assert lines[1:] == ["HTTP/1.0 200 OK", "hello over TLS"]
    with open(binary + ".verify.json") as fh:
        report = fh.read()
    assert '"link_type": "static"' in report and '"ok": true' in report


def test_tls_client_refuses_an_untrusted_server(main_job, tls_server, tmp_path):
    project, _ = main_job
    port, _ = tls_server
    other = tmp_path / "other.pem"
    subprocess.run([require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(tmp_path / "k.pem"), "-out", str(other), "-days", "1", "-subj", "/CN=other"],
                   check=True, capture_output=True)
    binary = project.path("build", "linux-amd64-musl-zig", "examples", "tls", "tlsclient")
    result = run_binary_args(binary, "linux/amd64", ["127.0.0.1", str(port), str(other)])
    assert result.returncode == 1 and "tls_get failed: handshake" in result.stderr


def test_foreign_libraries_are_verified_musl_archives(main_job):
    project, _ = main_job
    from sconsrules.configure.platform import Platform
    from sconsrules.verify import Policy, verify_file
    for arch in ("amd64", "arm64"):
        lib = project.path("build", f"linux-{arch}-musl-zig", "examples", "tls", "_foreign")
        for archive in ("openssl/usr/local/lib/libssl.a", "openssl/usr/local/lib/libcrypto.a", "z/usr/local/lib/libz.a"):
            report = verify_file(os.path.join(lib, archive), Policy(Platform.parse(f"linux/{arch}")))
            assert report.ok and report.summary["members"] > 0, (archive, report.failures)


OPENSSL_IMAGE = """FROM sconsrules-builder:bookworm
# The typical "image with the library's static build installed": zlib and OpenSSL built with musl-gcc into
# /opt/musl, their .pc files on PKG_CONFIG_PATH. Kernel headers (linux/, asm/) come from Debian's linux-libc-dev.
COPY zlib.tar.bz2 openssl.tar.gz /src/
RUN set -e; mkdir -p /opt/kh; ln -s /usr/include/linux /usr/include/asm-generic /opt/kh/; \\
    ln -s /usr/include/x86_64-linux-gnu/asm /opt/kh/asm; cd /src; tar xjf zlib.tar.bz2; tar xzf openssl.tar.gz; \\
    cd /src/zlib-1.2.13.dfsg; CC=musl-gcc ./configure --static --prefix=/opt/musl >/dev/null; make -j2 install >/dev/null; \\
    cd /src/openssl-3.0.20; CC="musl-gcc -idirafter /opt/kh" ./Configure linux-x86_64 no-shared no-tests no-dso \\
      no-async no-afalgeng zlib --with-zlib-include=/opt/musl/include --with-zlib-lib=/opt/musl/lib \\
      --prefix=/opt/musl --libdir=lib --openssldir=/etc/ssl >/dev/null; \\
    make -j2 build_libs >/dev/null; make install_dev >/dev/null; rm -rf /src
ENV PKG_CONFIG_PATH=/opt/musl/lib/pkgconfig
"""
OPENSSL_SCONSTRUCT = """env = Environment(tools=["default", "sconsrules"], SCONSRULES_TOOLCHAIN=None)
env["SCONSRULES_TOOLCHAIN"] = env.ContainerToolchain(dockerfile="image/Dockerfile", cc="musl-gcc",
                                                     platforms=["linux/amd64"])
ssl = env.PkgConfigCLib("ssl", module="openssl")
tlsget = env.StaticCLib("tlsget", srcs=["c/tlsget/tlsget.c"], hdrs=["c/tlsget/tlsget.h"], includes=["c/tlsget"],
                        deps=[ssl])
env.GoCgoBinary("tlsclient", package="./cmd/tlsclient", cdeps=[tlsget])
"""


def test_tls_through_pkg_config_in_an_image_with_openssl(project, docker_client, tls_server):
    """Issue 5's PkgConfigCLib("ssl", module="openssl"): OpenSSL found in an image, not built by the project.
    The image build takes minutes once per machine; Docker's layer cache keeps it (CI's data root is under $HOME)."""
    from sconsrules import apt_mirrors
    from sconsrules.declare.sources import SourceSpec
    from sconsrules.execute.fetch import fetch
    pools = [f"{mirror}/pool/main" for mirror in apt_mirrors()]  # this machine's Debian archive
    assert pools, "the tls sources come from the Debian archive apt is configured with (/etc/apt/sources.list*)"
    tarballs = {"zlib.tar.bz2": SourceSpec("zlib", tuple(f"{p}/z/zlib/zlib_1.2.13.dfsg.orig.tar.bz2" for p in pools),
                                           "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"),
                "openssl.tar.gz": SourceSpec("openssl", tuple(f"{p}/o/openssl/openssl_3.0.20.orig.tar.gz" for p in pools),
                                             "c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f")}
    project.copy_example("tls")
    os.remove(project.path("SConscript"))
    for name, spec in tarballs.items():
        os.makedirs(project.path("image"), exist_ok=True)
        shutil.copy(fetch(spec), project.path("image", name))
    project.write("image/Dockerfile", OPENSSL_IMAGE)
    project.write("SConstruct", OPENSSL_SCONSTRUCT)
    project.scons()
    config = "linux-amd64-musl-ctr-image"
    libs = open(project.path("build", config, "_pkgconfig", "ssl", "libs.rsp")).read().split()
    names = [os.path.basename(x) for x in libs if x.endswith(".a")]
    # pkg-config's order: each library before what it needs (libz repeats after libcrypto, which needs it).
    assert names[0] == "libssl.a" and names.index("libcrypto.a") < len(names) - 1 - names[::-1].index("libz.a")
    port, cert = tls_server
    binary = project.path("build", config, "tlsclient")
    result = run_binary_args(binary, "linux/amd64", ["127.0.0.1", str(port), cert])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("TLSv1.3 ") and "OpenSSL 3.0.20" in lines[0] and "zlib 1.2.13" in lines[0]
    assert lines[1:] == ["HTTP/1.0 200 OK", "hello over TLS"]
    assert project.scons().steps() == []


FIVE_MORE = ("linux/arm/v7", "linux/386", "linux/riscv64", "linux/ppc64le", "linux/s390x")


@pytest.fixture(scope="module")
def tls_five(tmp_path_factory):
    """The tls example as it is (zlib and OpenSSL from source, each with its own Configure target) for the five
    platforms the main job does not build. Cold, that is five OpenSSL builds; the output cache keeps them."""
    require("zig")
    project = Project(tmp_path_factory.mktemp("tls5"))
    project.copy_example("tls")
    project.write("SConstruct", f'env = Environment(tools=["default", "sconsrules"], '
                                f'SCONSRULES_PLATFORMS={list(FIVE_MORE)!r})\nSConscript("SConscript", exports="env")\n')
    project.scons(f"-j{os.cpu_count() or 1}")
    return project


@pytest.mark.parametrize("platform", FIVE_MORE)
def test_tls_example_handshakes_on_five_more_platforms(tls_five, tls_server, platform):
    """OpenSSL's assembly for each architecture (armv4, x86, riscv64, ppc64le, s390x: big-endian) through zig,
    verified, then a real TLS 1.3 handshake under qemu-user (386: natively)."""
    from sconsrules.configure.platform import Platform
    port, cert = tls_server
    config = f"{Platform.parse(platform).dirname}-zig"
    binary = tls_five.path("build", config, "tlsclient")
    result = run_binary_args(binary, platform, ["127.0.0.1", str(port), cert])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("TLSv1.3 ") and "OpenSSL 3.0.20" in lines[0] and "zlib 1.2.13" in lines[0]
    assert lines[1:] == ["HTTP/1.0 200 OK", "hello over TLS"]
    for archive in ("openssl/usr/local/lib/libcrypto.a", "z/usr/local/lib/libz.a"):
        from sconsrules.verify import Policy, verify_file
        report = verify_file(tls_five.path("build", config, "_foreign", archive), Policy(Platform.parse(platform)))
        assert report.ok and report.summary["members"] > 0, (archive, report.failures)
    # the stripped binary says what it was built from: OpenSSL and zlib with versions, licenses, source digests
    from sconsrules.verify.manifest import read
    deps = read(binary)
    libraries = {lib["name"]: lib for lib in deps["libraries"]}
    assert deps["platform"] == platform and deps["toolchain"].startswith("zig ")
    assert (libraries["openssl"]["version"], libraries["openssl"]["license"]) == ("3.0.20", "Apache-2.0")
    assert libraries["openssl"]["source_sha256"] == "c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f"
    assert (libraries["z"]["version"], libraries["z"]["source"]) == ("1.2.13", "zlib-1.2.13.dfsg")
    # ... and so does its SBOM: OpenSSL as a component with its version, license and tarball hash
    import subprocess
    import sys
    from sbom_check import valid_cyclonedx
    bom = valid_cyclonedx(subprocess.run([sys.executable, "-m", "sconsrules.verify", "--sbom", binary],
                                         capture_output=True, text=True).stdout)
    openssl, = [c for c in bom["components"] if c["name"] == "openssl"]
    assert openssl["version"] == "3.0.20" and openssl["licenses"] == [{"expression": "Apache-2.0"}]
    assert openssl["purl"].startswith("pkg:generic/openssl@3.0.20?checksum=sha256:c80a01dfc70e")
    assert {"alg": "SHA-256", "content": libraries["openssl"]["source_sha256"]} in openssl["hashes"]


@pytest.fixture(scope="module")
def examples_release(main_job):
    project, _ = main_job
    result = project.scons("examples-release", env={"SOURCE_DATE_EPOCH": "1700000000"})
    return project, project.path("build", "release", "examples-release"), result


def test_examples_release_has_every_artifact_and_checksums(examples_release):
    """`scons examples-release`: an archive per platform, two SBOMs per binary, the image layout, the provenance,
    and SHA256SUMS over all of them, which sha256sum -c accepts; a plain `scons` did not build it."""
    project, out, _ = examples_release
    binaries = ["chain", "hello-cgo", "shapes-app", "sqlite-query", "tlsclient"]
    expected = {f"examples-release_0.1.0_linux_{arch}{kind}.tar.gz" for arch in ("amd64", "arm64")
                for kind in ("", ".debug")}
    expected |= {f"examples-release_0.1.0_linux_{arch}.{b}.{form}.json" for arch in ("amd64", "arm64")
                 for b in binaries for form in ("cdx", "spdx")}
    expected |= {"examples-release_0.1.0_tlsclient-0.1.0.oci.tar", "examples-release_0.1.0.provenance.json"}
    assert set(os.listdir(out)) == expected | {"SHA256SUMS"}
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == len(expected)


def test_examples_release_debug_files_serve_gdb_beside_the_binaries(examples_release, tmp_path):
    """The debug archive holds the split-debug binaries' .debug files (not the C++ one's) under the binaries'
    top directory: unpacked together, gdb finds each by its .gnu_debuglink and resolves Go, cgo and musl lines."""
    gdb = require("gdb", "to read split debug files")
    _, out, _ = examples_release
    top = "examples-release_0.1.0_linux_amd64"
    for kind in ("", ".debug"):
        with tarfile.open(os.path.join(out, top + kind + ".tar.gz")) as tar:
            if kind:
                assert sorted(tar.getnames()) == [top] + [f"{top}/{b}.debug" for b in
                                                          ("chain", "hello-cgo", "sqlite-query", "tlsclient")]
            tar.extractall(tmp_path, filter="data")
    binary = str(tmp_path / top / "chain")
    lines = subprocess.run([gdb, "-nx", "-batch", "-ex", "info line main.main", "-ex", "info line __libc_start_main", binary], capture_output=True, text=True).stdout
    assert 'of "example.com/clib-chain/cmd/chain/main.go" starts at address' in lines, lines
    assert "/lib/libc/musl/src/env/__libc_start_main.c\" starts at address" in lines, lines


def test_examples_sboms_list_the_c_libraries_with_versions_and_hashes(examples_release):
    """Schema-valid SBOMs; OpenSSL and zlib with versions, licenses and source sha256; sqlite's amalgamation
    a component of the go-sqlite3 module; the same facts in SPDX."""
    from sbom_check import valid_cyclonedx, valid_spdx
    _, out, _ = examples_release
    for name in os.listdir(out):
        with open(os.path.join(out, name)) as fh:
            if name.endswith(".cdx.json"):
                valid_cyclonedx(fh.read())
            elif name.endswith(".spdx.json"):
                valid_spdx(fh.read())
    with open(os.path.join(out, "examples-release_0.1.0_linux_arm64.tlsclient.cdx.json")) as fh:
        components = {c["name"]: c for c in json.load(fh)["components"]}
    openssl, zlib = components["openssl"], components["z"]
    assert (openssl["version"], openssl["licenses"], openssl["hashes"][0]["content"]) == (
        "3.0.20", [{"expression": "Apache-2.0"}], "c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f")
    assert openssl["purl"].startswith("pkg:generic/openssl@3.0.20?checksum=sha256:c80a01dfc70e")
    assert "download_url=" in openssl["purl"]
    assert (zlib["version"], zlib["hashes"][0]["content"]) == (
        "1.2.13", "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1")
    with open(os.path.join(out, "examples-release_0.1.0_linux_amd64.sqlite-query.cdx.json")) as fh:
        module = [c for c in json.load(fh)["components"] if c["name"] == "github.com/mattn/go-sqlite3"][0]
    [sqlite] = module["components"]
    assert (sqlite["name"], sqlite["version"], sqlite["licenses"]) == ("sqlite", "3.50.4", [{"expression": "blessing"}])
    assert len(sqlite["hashes"][0]["content"]) == 64
    with open(os.path.join(out, "examples-release_0.1.0_linux_amd64.sqlite-query.spdx.json")) as fh:
        document = json.load(fh)
    names = {p["SPDXID"]: p["name"] for p in document["packages"]}
    assert ("github.com/mattn/go-sqlite3", "CONTAINS", "sqlite") in {
        (names.get(r["spdxElementId"]), r["relationshipType"], names[r["relatedSpdxElement"]])
        for r in document["relationships"]}


def test_examples_provenance_names_every_artifact_and_what_was_linked(examples_release):
    """An in-toto Statement v1 / SLSA Provenance v1: every artifact a subject with its sha256; per binary and
    platform the link command without this checkout's path; the OpenSSL tarball and Go modules resolved."""
    project, out, _ = examples_release
    with open(os.path.join(out, "examples-release_0.1.0.provenance.json")) as fh:
        text = fh.read()
    statement = json.loads(text)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert set(subjects) == set(os.listdir(out)) - {"SHA256SUMS", "examples-release_0.1.0.provenance.json"}
    for name, digest in subjects.items():
        with open(os.path.join(out, name), "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == digest, name
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["platforms"] == ["linux/amd64", "linux/arm64"]
    links = build["internalParameters"]["links"]
    assert len(links) == 10 and project.root not in text and "<root>" in text
    assert all(link["command"]["argv"][1] == "build" and link["toolchains"] for link in links)
    resolved = build["resolvedDependencies"]
    assert {"name": "openssl-3.0.20", "digest": {"sha256": "c80a01dfc70ece4dc21168932c37739042d404d46ccc81a5986dd75314ecda6f"},
            "uri": resolved[[r.get("name") for r in resolved].index("openssl-3.0.20")]["uri"]} in resolved
    assert any(r.get("uri", "").startswith("pkg:golang/github.com/mattn/go-sqlite3@v1.14.32") for r in resolved)


def test_examples_image_layout_is_read_by_skopeo_and_runs_in_docker(examples_release, tls_server, docker_client):
    """The OCI layout is an index of two platform manifests (skopeo reads it); skopeo copies the amd64 image into
    the engine, where it runs: a handshake with a local server whose certificate is mounted."""
    _, out, _ = examples_release
    skopeo = require("skopeo")
    layout = f"oci-archive:{os.path.join(out, 'examples-release_0.1.0_tlsclient-0.1.0.oci.tar')}:0.1.0"
    raw = subprocess.run([skopeo, "inspect", "--raw", layout], capture_output=True, text=True)
    assert raw.returncode == 0, raw.stderr
    index = json.loads(raw.stdout)
    assert [m["platform"] for m in index["manifests"]] == [{"architecture": "amd64", "os": "linux"},
                                                          {"architecture": "arm64", "os": "linux", "variant": "v8"}]
    config = json.loads(subprocess.run([skopeo, "inspect", "--config", "--override-arch", "arm64", layout],
                                       capture_output=True, text=True, check=True).stdout)
    assert config["architecture"] == "arm64" and config["config"]["Entrypoint"] == ["/app"]
    tag = "sconsrules-test-tlsclient:0.1.0"
    copy = subprocess.run([skopeo, "copy", "--quiet", layout, f"docker-daemon:{tag}"], capture_output=True, text=True)
    assert copy.returncode == 0, copy.stderr
    port, cert = tls_server
    try:
        output = docker_client.containers.run(tag, ["127.0.0.1", str(port), "/test/cert.pem"], network_mode="host",
                                              volumes={os.path.dirname(cert): {"bind": "/test", "mode": "ro"}},
                                              remove=True)
        lines = output.decode().splitlines()
        assert lines[0].startswith("TLSv1.3 ") and lines[1:] == ["HTTP/1.0 200 OK", "hello over TLS"]
        image = docker_client.images.get(tag)
        assert image.attrs["Architecture"] == "amd64"
        assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in image.attrs["Config"]["Env"]
    finally:
        docker_client.images.remove(tag, force=True)
