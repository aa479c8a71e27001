"""A multi-platform scratch image as an OCI image layout, written as one reproducible tarball without any
container engine: per platform a layer (the verified binary at /app, and the CA bundle when asked), a config
and a manifest; an image index naming each manifest with its platform; `index.json` naming that index with the
tag (org.opencontainers.image.ref.name), as `docker buildx --output type=oci` lays it out.

Every byte depends only on the binaries, the tag, the arguments and the epoch: tar entries sorted with fixed
owners, modes and mtimes, gzip without name or time, JSON with sorted keys. Tools read it as
`oci-archive:<file>:<tag>` (skopeo, podman, crane).
"""
import hashlib
import io
import json
import tarfile
import time

from .images import CA_BUNDLE
from .release import _info, _verified, gzip_fixed
from .run import write_atomic

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _tar(entries, epoch) -> bytes:
    """An uncompressed ustar of `entries` [(name, bytes or None for a directory, mode)], in the given order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in entries:
            if data is None:
                tar.addfile(_info(name, epoch, mode, kind=tarfile.DIRTYPE))
            else:
                tar.addfile(_info(name, epoch, mode, len(data)), io.BytesIO(data))
    return raw.getvalue()


class _Blobs:
    def __init__(self):
        self.blobs = {}

    def add(self, media_type: str, data: bytes, **extra) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return dict(extra, mediaType=media_type, digest=digest, size=len(data))


def _platform(platform) -> dict:
    found = {"os": platform.os, "architecture": platform.info.goarch}
    if platform.info.variant:
        found["variant"] = platform.info.variant
    elif platform.info.goarch == "arm64":
        found["variant"] = "v8"
    return found


def layout(label, tag, binaries, ca_certs, args, epoch, out):
    """Write the layout tarball `out` for `binaries` [(platform, path, policy)], each verified again first."""
    blobs = _Blobs()
    ca = None
    if ca_certs:
        with open(CA_BUNDLE, "rb") as fh:
            ca = fh.read()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    manifests = []
    for platform, path, policy in sorted(binaries, key=lambda b: str(b[0])):
        _verified(label, f"{tag} [{platform}]", path, policy)
        with open(path, "rb") as fh:
            binary = fh.read()
        entries = [("app", binary, 0o755)]
        env = []
        if ca is not None:
            entries = [("etc/", None, 0o755), ("etc/ssl/", None, 0o755), ("etc/ssl/certs/", None, 0o755),
                       ("etc/ssl/certs/ca-certificates.crt", ca, 0o644)] + entries
            env = ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
        layer_tar = _tar(sorted(entries), epoch)
        layer = blobs.add(MEDIA_LAYER, gzip_fixed(layer_tar))
        config = dict(_platform(platform), created=created,
                      config={"Entrypoint": ["/app"] + list(args), **({"Env": env} if env else {})},
                      rootfs={"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
                      history=[{"created": created, "created_by": f"sconsrules ScratchImage {tag}"}])
        manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                    "config": blobs.add(MEDIA_CONFIG, _json(config)), "layers": [layer]}
        manifests.append(blobs.add(MEDIA_MANIFEST, _json(manifest), platform=_platform(platform)))
    name = tag.split("/")[-1]
    index = blobs.add(MEDIA_INDEX, _json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}),
                      annotations={"org.opencontainers.image.ref.name": name.rsplit(":", 1)[1] if ":" in name
                                   else "latest",
                                   "io.containerd.image.name": tag})
    top = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [index]}
    entries = [("blobs/", None, 0o755), ("blobs/sha256/", None, 0o755)]
    entries += [(f"blobs/sha256/{digest[7:]}", data, 0o644) for digest, data in sorted(blobs.blobs.items())]
    entries += [("index.json", _json(top), 0o644), ("oci-layout", _json({"imageLayoutVersion": "1.0.0"}), 0o644)]
    write_atomic(out, _tar(entries, epoch))
