"""The dependency manifest: its encoding read back, hostile sections refused with a reason, and (integration)
the record inside stripped binaries of two architectures, shown by `sconsrules-verify --deps`."""
import json
import subprocess
import sys
import zlib

import pytest

from sconsrules.verify.manifest import MAGIC, MAX_JSON, BadManifest, decode, encode, read

RECORD = {"format": 1, "platform": "linux/arm64", "libraries": [{"kind": "StaticCLib", "name": "a"}]}


@pytest.mark.unit
def test_round_trip_and_determinism():
    assert decode(encode(RECORD)) == RECORD
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
])
def test_hostile_sections_are_refused_with_a_reason(data, cause):
    with pytest.raises(BadManifest, match=cause):
        decode(data)


@pytest.mark.unit
def test_a_binary_without_the_section_has_none():
    assert read(sys.executable) is None


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
        assert deps["binary"] == "chain" and deps["platform"] == platform and deps["format"] == 1
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
    # a changed library source changes the record (and the binary); the other library's digest stays
    before = read(project.path("build", "linux-amd64-musl-zig", "chain"))["libraries"]
    project.write("c/base/base.c", project.read("c/base/base.c") + "\nint base_extra(void) { return 1; }\n")
    project.scons()
    after = read(project.path("build", "linux-amd64-musl-zig", "chain"))["libraries"]
    assert after[0] == before[0] and after[1]["sources_sha256"] != before[1]["sources_sha256"]
