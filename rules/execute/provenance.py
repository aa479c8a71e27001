"""The provenance of a release: an in-toto Statement v1 with a SLSA Provenance v1 predicate, unsigned (a
signer such as cosign or in-toto's tools wraps it in an envelope).

Subjects are the release's artifacts by sha256. The build definition holds what was asked (release, version,
platforms, the source commit) and, per binary, the exact link command and the toolchain identities, written
with the checkout, HOME and tool install directories as names (`<root>`, `<home>`, `<zig>`): the statement is
the same on every machine that builds the same release. Resolved dependencies come from the binaries
themselves (their dependency manifests and Go build info), so they name what was linked, not what was declared.
No clock is read: the release epoch is the only time.
"""
import json
import os

from ..verify.manifest import BadManifest
from ..verify.manifest import read as read_manifest
from .release import _verified
from .run import write_atomic
from .tree import file_sha256

STATEMENT = "https://in-toto.io/Statement/v1"
PREDICATE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:sconsrules:release:v1"
BUILDER = "urn:sconsrules:builder:scons"


def _resolved(label, binaries):
    """ResourceDescriptors of every source archive, Go module and C library inside the binaries, one each."""
    found = {}
    for name, _, path, _, _, policy in binaries:
        try:
            deps = read_manifest(path) or {}
        except BadManifest:
            deps = {}
        for lib in deps.get("libraries", ()):
            if not isinstance(lib, dict):
                continue
            if lib.get("source_sha256"):
                urls = [u for u in lib.get("source_urls", ()) if isinstance(u, str)]
                entry = {"name": str(lib.get("source") or lib.get("name")), "digest": {"sha256": lib["source_sha256"]}}
                if urls:
                    entry["uri"] = urls[0]
                found[("source", entry["name"], lib["source_sha256"])] = entry
            elif lib.get("sources_sha256"):
                found[("tree", lib.get("name"), lib["sources_sha256"])] = {
                    "name": f"{lib.get('kind')} {lib.get('name')}", "digest": {"sha256": lib["sources_sha256"]}}
        for module in deps.get("go_modules_c", ()):
            for lib in module.get("embedded", ()) if isinstance(module, dict) else ():
                if isinstance(lib, dict) and lib.get("sha256"):
                    found[("embedded", lib.get("name"), lib["sha256"])] = {
                        "name": f"{lib.get('name')} {lib.get('version')} in {module.get('module')}",
                        "digest": {"sha256": lib["sha256"]}}
        go = _verified(label, name, path, policy).summary.get("go") or {}
        for module in go.get("deps", ()):
            uri = f"pkg:golang/{module.get('path')}@{module.get('version')}"
            entry = {"uri": uri}
            if module.get("sum"):
                entry["annotations"] = {"go.sum": module["sum"]}
            found[("go", uri, module.get("sum"))] = entry
    return [found[k] for k in sorted(found, key=lambda k: tuple(str(p) for p in k))]


def statement(label, version, commit, epoch, binaries, artifacts, out):
    """Write the statement `out`. `binaries`: (name, platform, path, portable link command, identities,
    policy); `artifacts`: paths of the release's files (its subjects)."""
    subjects = [{"name": os.path.basename(p), "digest": {"sha256": file_sha256(p)}}
                for p in sorted(artifacts, key=os.path.basename)]
    external = {"release": label, "version": version,
                "platforms": sorted({platform for _, platform, *_ in binaries}),
                "binaries": sorted({name for name, *_ in binaries})}
    if commit:
        external["source"] = {"uri": "git", "digest": {"gitCommit": commit}}
    internal = {"sourceDateEpoch": epoch,
                "links": [{"binary": name, "platform": platform, "command": command, "toolchains": list(identities)}
                          for name, platform, _, command, identities, _ in sorted(binaries, key=lambda b: (b[0], b[1]))]}
    document = {
        "_type": STATEMENT, "subject": subjects, "predicateType": PREDICATE,
        "predicate": {
            "buildDefinition": {"buildType": BUILD_TYPE, "externalParameters": external,
                                "internalParameters": internal, "resolvedDependencies": _resolved(label, binaries)},
            "runDetails": {"builder": {"id": BUILDER, "version": {"sconsrules": _version()}}},
        },
    }
    write_atomic(out, json.dumps(document, indent=1, sort_keys=True) + "\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("sconsrules")
    except PackageNotFoundError:
        return "unknown"
