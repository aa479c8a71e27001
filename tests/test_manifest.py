"""The dependency manifest: its encoding read back, hostile sections refused with a reason, and (integration)
the record inside stripped binaries of two architectures, shown by `sconsrules-verify --deps`."""
import hashlib
import json
import os
import subprocess
import sys
import zlib

import pytest

from sconsrules.verify.manifest import MAGIC, MAX_JSON, BadManifest, decode, encode, read

RECORD = {"format": 1, "platform": "linux/arm64", "libraries": [{"kind": "StaticCLib", "name": "a"}]}


@pytest.mark.unit
def test_round_trip_and_determinism():
    assert decode(encode(RECORD)) == RECORD
    padded = encode(RECORD) + b"\0" * 700  # padded to its size class; older links took it once per cgo package
    assert decode(padded) == decode(padded * 3) == RECORD
    assert encode(RECORD) == encode(json.loads(json.dumps(RECORD)))  # same record, same bytes
    assert len(encode(RECORD)) < 200


@pytest.mark.unit
@pytest.mark.parametrize("data, cause", [
    (b"ELF-NOT-A-MANIFEST", "no manifest magic"),
    (MAGIC[:-1] + b"\x07" + zlib.compress(b"{}"), "manifest format 7"),
    (MAGIC + b"\x78\x9cnot deflate", "compressed data is damaged"),
    (MAGIC + zlib.compress(b" " * (MAX_JSON + 10)), "larger than"),
    (MAGIC + zlib.compress(b"[1, 2]"), "not a JSON object"),
    (MAGIC + zlib.compress(b"{oops"), "not JSON"),
    (MAGIC + zlib.compress(b"{}")[:-1], "truncated"),
    (MAGIC + zlib.compress(b"{}") + b"\0\0x\0", "neither padding nor the same manifest"),
    (encode({"a": 1}) + b"\0" * 9 + encode({"a": 2}), "neither padding nor the same manifest"),
])
def test_hostile_sections_are_refused_with_a_reason(data, cause):
    with pytest.raises(BadManifest, match=cause):
        decode(data)


@pytest.mark.unit
def test_a_binary_without_the_section_has_none():
    assert read(sys.executable) is None


def _section(path):
    from elftools.elf.elffile import ELFFile
    from sconsrules.verify.manifest import SECTION
    with open(path, "rb") as fh:
        return ELFFile(fh).get_section_by_name(SECTION).data()


@pytest.mark.integration
def test_stripped_binaries_of_two_architectures_carry_their_manifest(project):
    from conftest import require
    require("zig")
    project.copy_example("clib-chain")
    project.write("SConstruct", 'env = Environment(tools=["default", "sconsrules"])\nSConscript("SConscript", exports="env")\n')
    project.scons()
    for platform, config in (("linux/amd64", "linux-amd64-musl-zig"), ("linux/arm64", "linux-arm64-musl-zig")):
        binary = project.path("build", config, "chain")
        deps = read(binary)
        assert deps["binary"] == "chain" and deps["platform"] == platform and deps["format"] == 2
        # linked once, though the build has two cgo packages (runtime/cgo and main): one record, then padding
        assert _section(binary).count(MAGIC) == 1
        assert [(lib["kind"], lib["name"]) for lib in deps["libraries"]] == [("StaticCLib", "mid"), ("StaticCLib", "base")]
        assert all(len(lib["sources_sha256"]) == 64 for lib in deps["libraries"])
        shown = subprocess.run([sys.executable, "-m", "sconsrules.verify", "--deps", binary], capture_output=True,
                               text=True)
        assert shown.returncode == 0 and "stripped" in shown.stdout
        assert f"deps: chain for {platform}, toolchain zig" in shown.stdout and "C StaticCLib base sources sha256" in shown.stdout
        # the SBOM made from the binary alone: schema-valid CycloneDX 1.6 listing both C libraries
        sbom = subprocess.run([sys.executable, "-m", "sconsrules.verify", "--sbom", binary], capture_output=True,
                              text=True)
        from sbom_check import valid_cyclonedx
        bom = valid_cyclonedx(sbom.stdout)
        assert sorted(c["name"] for c in bom["components"]) == ["base", "mid"]
        assert bom["dependencies"][0]["ref"] == "binary:chain" and len(bom["dependencies"][0]["dependsOn"]) == 2
        spdx = subprocess.run([sys.executable, "-m", "sconsrules.verify", "--spdx", binary], capture_output=True,
                              text=True, env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
        from sbom_check import valid_spdx
        document = valid_spdx(spdx.stdout)
        assert document["creationInfo"]["created"] == "2023-11-14T22:13:20Z"
        assert sorted(p["name"] for p in document["packages"]) == ["base", "chain", "mid"]
        assert sorted(r["relationshipType"] for r in document["relationships"]) == ["DESCRIBES", "STATIC_LINK",
                                                                                    "STATIC_LINK"]
    # a changed library source changes the record (and the binary); the other library's digest stays
    # relinks after edits (C, then Go) compile no manifest: each object is the configuration's template, filled in
    template = project.path("build", "linux-amd64-musl-zig", "_objs", ".sconsrules-manifest-1024.o")
    kept = os.stat(template)
    before = read(project.path("build", "linux-amd64-musl-zig", "chain"))["libraries"]
    project.write("c/base/base.c", project.read("c/base/base.c") + "\nint base_extra(void) { return 1; }\n")
    project.scons()
    after = read(project.path("build", "linux-amd64-musl-zig", "chain"))["libraries"]
    assert after[0] == before[0] and after[1]["sources_sha256"] != before[1]["sources_sha256"]
    project.write("cmd/chain/main.go", project.read("cmd/chain/main.go") + "\n// edited\n")
    assert project.scons().ran("GoCgoBinary", "chain", "go build")
    assert (os.stat(template).st_ino, os.stat(template).st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)
    assert read(project.path("build", "linux-amd64-musl-zig", "chain"))["libraries"] == after


@pytest.mark.integration
def test_each_object_is_the_compiled_template_with_its_manifest_and_a_changed_template_is_compiled_again(tmp_path):
    """One zig compile per size class serves every binary: each object is the template with its own manifest in
    the section (read back through the section, as from a binary); a template changed on disk, or a key file
    that is a link, is not used but compiled again."""
    from conftest import require
    require("zig")
    from elftools.elf.elffile import ELFFile
    from sconsrules.configure.platform import Platform
    from sconsrules.configure.toolchains.zig import ZigToolchain
    from sconsrules.execute.manifest import KEY_SUFFIX, compile_object
    from sconsrules.execute.native import NativeExecutor
    from sconsrules.verify.manifest import SECTION
    zig, arm64 = ZigToolchain(), Platform.parse("linux/arm64")
    cc = zig.cc(arm64)
    root, calls = str(tmp_path), []
    executor = NativeExecutor()

    def run(command):
        calls.append(command.argv)
        return executor.run(command, zig.env(arm64))

    def make(name):
        out = str(tmp_path / "build" / f"{name}.deps.o")
        compile_object((), (("binary", name),), root, cc, out, run=run, who=("GoCgoBinary", name))
        with open(out, "rb") as fh:
            elf = ELFFile(fh)
            assert elf["e_machine"] == "EM_AARCH64" and elf["e_type"] == "ET_REL"
            return decode(elf.get_section_by_name(SECTION).data())

    assert make("one") == {"binary": "one", "libraries": []} and make("two")["binary"] == "two"
    assert len(calls) == 1
    template = str(tmp_path / "build" / "_objs" / ".sconsrules-manifest-1024.o")
    with open(template, "r+b") as fh:
        fh.seek(-1, os.SEEK_END)
        fh.write(b"\x01")
    assert make("three")["binary"] == "three" and len(calls) == 2
    os.replace(template + KEY_SUFFIX, str(tmp_path / "elsewhere"))
    os.symlink(str(tmp_path / "elsewhere"), template + KEY_SUFFIX)
    assert make("four")["binary"] == "four" and len(calls) == 3 and not os.path.islink(template + KEY_SUFFIX)
    assert not [n for n in os.listdir(tmp_path / "build" / "_objs") if n.startswith(".manifest-")]  # work dirs gone


@pytest.mark.unit
def test_c_inside_go_modules_is_recorded_with_the_libraries_it_is(tmp_path):
    """The listing's lines of required modules' cgo files become one record per module: the files digested, a
    prebuilt archive in the module with its sha256, sqlite's amalgamation recognised by its version macro; files
    outside the module (a system -L dir) are not recorded."""
    from sconsrules.actions.commands import LINK_LIST_MARK, LINK_LIST_SEP
    from sconsrules.execute.golinks import module_c_files
    from sconsrules.execute.manifest import _modules
    root = tmp_path / "mod" / "example.com" / "sq@v1.2.3"
    (root / "inner").mkdir(parents=True)
    (root / "sqlite3-binding.c").write_text('/* amalgamation */\n#define SQLITE_VERSION        "3.50.4"\nint x;\n')
    (root / "sqlite3-binding.h").write_text('#define SQLITE_VERSION        "3.50.4"\n')
    (root / "inner" / "libz_linux_amd64.a").write_bytes(b"!<arch>\n")
    outside = tmp_path / "usr-lib-libfoo.a"
    outside.write_bytes(b"!<arch>\n")
    listing = "\n".join([
        f"{LINK_LIST_MARK} cgo",
        f"{LINK_LIST_MARK}-C\texample.com/sq\texample.com/sq@v1.2.3\t{root}\t"
        + LINK_LIST_SEP.join(["sqlite3-binding.c", "", "sqlite3-binding.h"]),
    ])
    found = module_c_files(listing)
    assert found == [("example.com/sq", "example.com/sq@v1.2.3", str(root), ["sqlite3-binding.c", "sqlite3-binding.h"])]
    found.append(("example.com/sq/inner", "example.com/sq@v1.2.3", str(root / "inner"),
                  ["libz_linux_amd64.a", str(outside)]))
    [record] = _modules(found)
    assert record["module"] == "example.com/sq" and record["version"] == "v1.2.3"
    assert [a["path"] for a in record["archives"]] == ["inner/libz_linux_amd64.a"]
    assert record["embedded"] == [{"name": "sqlite", "version": "3.50.4", "license": "blessing",
                                   "file": "sqlite3-binding.c",
                                   "sha256": hashlib.sha256((root / "sqlite3-binding.c").read_bytes()).hexdigest()}]
    assert len(record["sources_sha256"]) == 64


@pytest.mark.unit
def test_sboms_nest_the_c_of_a_go_module_and_both_formats_are_valid():
    """The same facts in CycloneDX 1.6 (the amalgamation a component nested in its module) and SPDX 2.3 (the
    module CONTAINS it, C libraries STATIC_LINKed), each valid by its own validator; same input, same bytes."""
    from sbom_check import valid_cyclonedx, valid_spdx
    from sconsrules.verify.sbom import cyclonedx, spdx
    go = {"main": {"path": "example.com/app"}, "go_version": "go1.26.8",
          "deps": [{"path": "github.com/mattn/go-sqlite3", "version": "v1.14.32", "sum": "h1:abc="}]}
    deps = {"platform": "linux/arm64", "toolchain": "zig 0.17.1", "libraries": [
        {"kind": "ForeignCLib", "name": "openssl", "version": "3.0.20", "license": "Apache-2.0",
         "source_urls": ["https://example.org/openssl-3.0.20.tar.gz"], "source_sha256": "c" * 64}],
        "go_modules_c": [{"module": "github.com/mattn/go-sqlite3", "version": "v1.14.32", "embedded": [
            {"name": "sqlite", "version": "3.50.4", "license": "blessing", "file": "sqlite3-binding.c",
             "sha256": "f" * 64}]}]}
    bom = valid_cyclonedx(json.dumps(cyclonedx("app", b"ELF", go, deps)))
    module = [c for c in bom["components"] if c["name"] == "github.com/mattn/go-sqlite3"][0]
    assert [(c["name"], c["version"], c["purl"]) for c in module["components"]] == [
        ("sqlite", "3.50.4", "pkg:generic/sqlite@3.50.4")]
    openssl = [c for c in bom["components"] if c["name"] == "openssl"][0]
    assert openssl["purl"] == ("pkg:generic/openssl@3.0.20?checksum=sha256:" + "c" * 64
                               + "&download_url=https://example.org/openssl-3.0.20.tar.gz")
    assert openssl["hashes"] == [{"alg": "SHA-256", "content": "c" * 64}]
    document = valid_spdx(json.dumps(spdx("app", b"ELF", go, deps, 0)))
    names = {p["SPDXID"]: p["name"] for p in document["packages"]}
    edges = {(names[r["spdxElementId"]] if r["spdxElementId"] in names else r["spdxElementId"],
              r["relationshipType"], names[r["relatedSpdxElement"]]) for r in document["relationships"]}
    assert edges == {("SPDXRef-DOCUMENT", "DESCRIBES", "app"), ("app", "STATIC_LINK", "openssl"),
                     ("app", "CONTAINS", "github.com/mattn/go-sqlite3"),
                     ("github.com/mattn/go-sqlite3", "CONTAINS", "sqlite")}
    assert json.dumps(spdx("app", b"ELF", go, deps, 0)) == json.dumps(spdx("app", b"ELF", go, deps, 0))
