"""A CycloneDX 1.6 SBOM of a binary, made from what the binary itself records: Go's build info (the main module
and every module with its version and go.sum hash) and the sconsrules dependency manifest (every C library linked
statically: what scanners that read only Go's build info never see). Made from the file, it cannot disagree with
it, and it can be made for any binary found later.

Deterministic: no timestamp, a serial number derived from the binary's sha256, components sorted.
"""
import hashlib
import uuid
from typing import Any, Dict, List, Optional
from urllib.parse import quote

SPEC = "1.6"


def _purl_generic(name: str, version: Optional[str], url: Optional[str], sha256: Optional[str]) -> str:
    purl = f"pkg:generic/{quote(name, safe='')}" + (f"@{quote(version, safe='')}" if version else "")
    qualifiers = []
    if sha256:
        qualifiers.append(f"checksum=sha256:{sha256}")
    if url:
        qualifiers.append(f"download_url={quote(url, safe=':/')}")
    return purl + ("?" + "&".join(sorted(qualifiers)) if qualifiers else "")


def _go_component(module: dict) -> dict:
    path, version = module.get("path", ""), module.get("version", "")
    purl = f"pkg:golang/{quote(path, safe='/')}" + (f"@{quote(version, safe='')}" if version else "")
    component: Dict[str, Any] = {"type": "library", "bom-ref": purl, "name": path, "purl": purl}
    if version:
        component["version"] = version
    properties = [{"name": "sconsrules:go.sum", "value": module["sum"]}] if module.get("sum") else []
    if module.get("replaced_by"):
        properties.append({"name": "sconsrules:replaced_by", "value": module["replaced_by"]})
    if properties:
        component["properties"] = properties
    return component


def _c_component(lib: dict) -> dict:
    name, version = str(lib.get("name", "?")), lib.get("version")
    urls = [u for u in lib.get("source_urls", ()) if isinstance(u, str)]
    purl = _purl_generic(name, version, urls[0] if urls else None, lib.get("source_sha256"))
    component: Dict[str, Any] = {"type": "library", "bom-ref": f"c:{lib.get('kind', '?')}:{name}", "name": name,
                                 "purl": purl}
    if version:
        component["version"] = version
    if lib.get("license"):
        component["licenses"] = [{"expression": lib["license"]}]
    if lib.get("source_sha256"):
        component["hashes"] = [{"alg": "SHA-256", "content": lib["source_sha256"]}]
    if urls:
        component["externalReferences"] = [{"type": "distribution", "url": u} for u in urls]
    properties = [{"name": "sconsrules:kind", "value": str(lib.get("kind", "?"))}]
    for key in ("build", "args_sha256", "sources_sha256", "module", "source"):
        if lib.get(key):
            properties.append({"name": f"sconsrules:{key}", "value": str(lib[key])})
    for archive in lib.get("archives", ()):
        if isinstance(archive, dict):
            properties.append({"name": f"sconsrules:archive:{archive.get('name')}", "value": str(archive.get("sha256"))})
    component["properties"] = properties
    return component


def cyclonedx(name: str, data: bytes, go: Optional[dict], deps: Optional[dict]) -> dict:
    """The SBOM of the binary `name` with contents `data`, its Go build info (to_json) and manifest."""
    digest = hashlib.sha256(data).hexdigest()
    binary: Dict[str, Any] = {"type": "application", "bom-ref": f"binary:{name}", "name": name,
              "hashes": [{"alg": "SHA-256", "content": digest}]}
    if go and go.get("main", {}).get("path"):
        binary["properties"] = [{"name": "sconsrules:go.main", "value": go["main"]["path"]},
                                {"name": "sconsrules:go.version", "value": str(go.get("go_version", ""))}]
    components: List[dict] = []
    for module in (go or {}).get("deps", ()):
        components.append(_go_component(module))
    for lib in (deps or {}).get("libraries", ()):
        if isinstance(lib, dict):
            components.append(_c_component(lib))
    components.sort(key=lambda c: c["bom-ref"])
    unique = list({c["bom-ref"]: c for c in components}.values())
    metadata: Dict[str, Any] = {"component": binary, "tools": {"components": [{"type": "application", "name": "sconsrules"}]}}
    if deps:
        metadata["properties"] = [{"name": f"sconsrules:{k}", "value": str(deps[k])}
                                  for k in ("platform", "toolchain", "go") if deps.get(k)]
    return {
        "bomFormat": "CycloneDX", "specVersion": SPEC, "version": 1,
        "serialNumber": f"urn:uuid:{uuid.UUID(digest[:32])}",
        "metadata": metadata,
        "components": unique,
        "dependencies": [{"ref": binary["bom-ref"], "dependsOn": [c["bom-ref"] for c in unique]}]
                        + [{"ref": c["bom-ref"], "dependsOn": []} for c in unique],
    }
