"""SBOMs of a binary, CycloneDX 1.6 and SPDX 2.3 JSON, made from what the binary itself records: Go's build info
(the main module and every module with its version and go.sum hash) and the sconsrules dependency manifest
(every C library linked statically, and the C that Go modules carry, such as go-sqlite3's sqlite amalgamation:
what scanners that read only Go's build info never see). Made from the file, they cannot disagree with it, and
they can be made for any binary found later.

Both documents render one list of packages (`packages`), so they say the same things. Deterministic: no clock
(SPDX's required creation time is the epoch given), identifiers derived from the binary's sha256, sorted.
"""
import hashlib
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import attrs

SPEC = "1.6"
SPDX_VERSION = "SPDX-2.3"
# The namespace prefix the SPDX specification suggests for documents without a home of their own.
SPDX_NAMESPACE = "https://spdx.org/spdxdocs/"


@attrs.frozen
class Package:
    """One thing inside the binary, as both formats need it."""

    ref: str  # unique in the document
    name: str
    version: Optional[str]
    purl: str
    kind: str  # "go-module", a C library's rule kind, or "embedded" (C inside a Go module)
    sha256: Optional[str] = None
    license: Optional[str] = None
    urls: Tuple[str, ...] = ()
    properties: Tuple[Tuple[str, str], ...] = ()
    parent: Optional[str] = None  # ref of the package that contains this one (an embedded library's module)


def _purl_generic(name: str, version: Optional[str], url: Optional[str], sha256: Optional[str]) -> str:
    purl = f"pkg:generic/{quote(name, safe='')}" + (f"@{quote(version, safe='')}" if version else "")
    qualifiers = []
    if sha256:
        qualifiers.append(f"checksum=sha256:{sha256}")
    if url:
        qualifiers.append(f"download_url={quote(url, safe=':/')}")
    return purl + ("?" + "&".join(sorted(qualifiers)) if qualifiers else "")


def _purl_golang(path: str, version: Optional[str]) -> str:
    return f"pkg:golang/{quote(path, safe='/')}" + (f"@{quote(version, safe='')}" if version else "")


def _text(value) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def packages(go: Optional[dict], deps: Optional[dict]) -> List[Package]:
    """The Go modules (build info), the C libraries and the C inside Go modules (manifest), sorted by ref."""
    found: Dict[str, Package] = {}
    for module in (go or {}).get("deps", ()):
        path, version = str(module.get("path", "")), _text(module.get("version"))
        purl = _purl_golang(path, version)
        properties = [("go.sum", module["sum"])] if _text(module.get("sum")) else []
        if _text(module.get("replaced_by")):
            properties.append(("replaced_by", module["replaced_by"]))
        found[purl] = Package(purl, path, version, purl, "go-module", properties=tuple(properties))
    for lib in (deps or {}).get("libraries", ()):
        if not isinstance(lib, dict):
            continue
        name, kind, version = str(lib.get("name", "?")), str(lib.get("kind", "?")), _text(lib.get("version"))
        urls = tuple(u for u in lib.get("source_urls", ()) if isinstance(u, str))
        sha = _text(lib.get("source_sha256"))
        properties = [(key, str(lib[key])) for key in ("build", "args_sha256", "sources_sha256", "module", "source")
                      if lib.get(key)]
        properties += [(f"archive:{a.get('name')}", str(a.get("sha256"))) for a in lib.get("archives", ())
                       if isinstance(a, dict)]
        ref = f"c:{kind}:{name}"
        found[ref] = Package(ref, name, version, _purl_generic(name, version, urls[0] if urls else None, sha), kind,
                             sha, _text(lib.get("license")), urls, tuple(properties))
    for module in (deps or {}).get("go_modules_c", ()):
        if not isinstance(module, dict):
            continue
        parent = _purl_golang(str(module.get("module", "")), _text(module.get("version")))
        if parent not in found:  # the manifest names a module the build info does not: keep it visible
            found[parent] = Package(parent, str(module.get("module", "")), _text(module.get("version")), parent,
                                    "go-module")
        extra = [("c.sources_sha256", str(module["sources_sha256"]))] if module.get("sources_sha256") else []
        extra += [(f"c.archive:{a.get('path')}", str(a.get("sha256"))) for a in module.get("archives", ())
                  if isinstance(a, dict)]
        found[parent] = attrs.evolve(found[parent], properties=found[parent].properties + tuple(extra))
        for lib in module.get("embedded", ()):
            if not isinstance(lib, dict):
                continue
            name, version, sha = str(lib.get("name", "?")), _text(lib.get("version")), _text(lib.get("sha256"))
            ref = f"embedded:{parent}:{name}"
            found[ref] = Package(ref, name, version, _purl_generic(name, version, None, None), "embedded", sha,
                                 _text(lib.get("license")), properties=(("file", str(lib.get("file", ""))),), parent=parent)
    return sorted(found.values(), key=lambda p: p.ref)


def _binary_facts(go: Optional[dict], deps: Optional[dict]) -> List[Tuple[str, str]]:
    facts = []
    if go and go.get("main", {}).get("path"):
        facts += [("go.main", go["main"]["path"]), ("go.version", str(go.get("go_version", "")))]
    facts += [(k, str(deps[k])) for k in ("platform", "toolchain", "go") if deps and deps.get(k)]
    return facts


def _cdx_component(package: Package, children: List[dict]) -> dict:
    component: Dict[str, Any] = {"type": "library", "bom-ref": package.ref, "name": package.name, "purl": package.purl}
    if package.version:
        component["version"] = package.version
    if package.license:
        component["licenses"] = [{"expression": package.license}]
    if package.sha256:
        component["hashes"] = [{"alg": "SHA-256", "content": package.sha256}]
    if package.urls:
        component["externalReferences"] = [{"type": "distribution", "url": u} for u in package.urls]
    properties = [{"name": "sconsrules:kind", "value": package.kind}] if package.kind != "go-module" else []
    properties += [{"name": f"sconsrules:{k}", "value": v} for k, v in package.properties]
    if properties:
        component["properties"] = properties
    if children:
        component["components"] = children
    return component


def cyclonedx(name: str, data: bytes, go: Optional[dict], deps: Optional[dict]) -> dict:
    """The CycloneDX 1.6 SBOM of the binary `name` with contents `data`, its Go build info (to_json) and
    manifest. C inside a Go module is a component nested in that module's."""
    digest = hashlib.sha256(data).hexdigest()
    binary: Dict[str, Any] = {"type": "application", "bom-ref": f"binary:{name}", "name": name,
                              "hashes": [{"alg": "SHA-256", "content": digest}]}
    main_facts = _binary_facts(go, None)
    if main_facts:
        binary["properties"] = [{"name": f"sconsrules:{k}", "value": v} for k, v in main_facts]
    found = packages(go, deps)
    children: Dict[str, List[dict]] = {}
    for package in found:
        if package.parent:
            children.setdefault(package.parent, []).append(_cdx_component(package, []))
    top = [_cdx_component(p, children.get(p.ref, [])) for p in found if not p.parent]
    metadata: Dict[str, Any] = {"component": binary,
                                "tools": {"components": [{"type": "application", "name": "sconsrules"}]}}
    build_facts = _binary_facts(None, deps)
    if build_facts:
        metadata["properties"] = [{"name": f"sconsrules:{k}", "value": v} for k, v in build_facts]
    return {
        "bomFormat": "CycloneDX", "specVersion": SPEC, "version": 1,
        "serialNumber": f"urn:uuid:{uuid.UUID(digest[:32])}",
        "metadata": metadata,
        "components": top,
        "dependencies": [{"ref": binary["bom-ref"], "dependsOn": [p.ref for p in found if not p.parent]}]
                        + [{"ref": p.ref, "dependsOn": [c["bom-ref"] for c in children.get(p.ref, [])]}
                           for p in found],
    }


def _spdx_id(ref: str) -> str:
    """An SPDXID (letters, digits, '.' and '-') unique per ref: a readable part and a short hash."""
    readable = "".join(c if c.isalnum() or c in ".-" else "-" for c in ref)[:60].strip("-")
    return f"SPDXRef-{readable}-{hashlib.sha256(ref.encode()).hexdigest()[:8]}"


def _spdx_package(package: Package) -> dict:
    entry: Dict[str, Any] = {
        "SPDXID": _spdx_id(package.ref), "name": package.name, "filesAnalyzed": False,
        "downloadLocation": package.urls[0] if package.urls else "NOASSERTION",
        "licenseConcluded": "NOASSERTION", "licenseDeclared": package.license or "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": package.purl}],
        "primaryPackagePurpose": "LIBRARY",
    }
    if package.version:
        entry["versionInfo"] = package.version
    if package.sha256:
        entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": package.sha256}]
    notes = [f"sconsrules:kind={package.kind}"] + [f"sconsrules:{k}={v}" for k, v in package.properties]
    entry["comment"] = "\n".join(notes)
    return entry


def spdx(name: str, data: bytes, go: Optional[dict], deps: Optional[dict], created: int) -> dict:
    """The SPDX 2.3 document of the same binary: the binary DESCRIBED, C libraries STATIC_LINKed, Go modules
    CONTAINed, C inside a Go module CONTAINed by that module. `created` (seconds) is the required creation time:
    the release's epoch, so the document is reproducible."""
    digest = hashlib.sha256(data).hexdigest()
    binary_id = _spdx_id(f"binary:{name}")
    binary = {"SPDXID": binary_id, "name": name, "filesAnalyzed": False, "downloadLocation": "NOASSERTION",
              "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
              "checksums": [{"algorithm": "SHA256", "checksumValue": digest}], "primaryPackagePurpose": "APPLICATION",
              "comment": "\n".join(f"sconsrules:{k}={v}" for k, v in _binary_facts(go, deps))}
    found = packages(go, deps)
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": binary_id}]
    for package in found:
        if package.parent:
            relationships.append({"spdxElementId": _spdx_id(package.parent), "relationshipType": "CONTAINS",
                                  "relatedSpdxElement": _spdx_id(package.ref)})
        else:
            kind = "CONTAINS" if package.kind == "go-module" else "STATIC_LINK"
            relationships.append({"spdxElementId": binary_id, "relationshipType": kind,
                                  "relatedSpdxElement": _spdx_id(package.ref)})
    return {
        "spdxVersion": SPDX_VERSION, "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": name,
        "documentNamespace": f"{SPDX_NAMESPACE}{quote(name, safe='')}-{uuid.UUID(digest[:32])}",
        "creationInfo": {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                         "creators": ["Tool: sconsrules"]},
        "packages": [binary] + [_spdx_package(p) for p in found],
        "relationships": relationships,
    }
