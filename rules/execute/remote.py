"""A Remote Execution API (v2) cache client over gRPC: ActionCache for results, ContentAddressableStorage and
ByteStream for blobs.

The server is a convenience, never a dependency of the build: every call has a deadline, and the first failure
(unreachable, slow, an error status, a malformed answer) turns the client off for the rest of the run with one
warning, after which steps build locally. Nothing it returns is trusted: blobs are hashed on arrival and must
match their digests, and the step verifies restored outputs like fresh ones (perform.py).
"""
import os
import threading
from typing import Dict, Iterator, Optional
from urllib.parse import urlsplit

from . import reapi
from .perform import emit

SMALL = 1 << 20  # blobs up to this size travel in batch calls; larger ones through ByteStream
CHUNK = 1 << 20
TIMEOUT = 10.0  # seconds for one small call; a ByteStream transfer gets this per MB on top


class RemoteUnavailable(Exception):
    """The server did not answer as REAPI says it must."""


class Settings:
    """--remote-cache and friends, from options or the environment (CI)."""

    def __init__(self, url: str, instance: str = "", upload: bool = True, headers: Optional[Dict[str, str]] = None,
                 timeout: float = TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme not in ("grpc", "grpcs") or not parts.hostname or not parts.port:
            raise ValueError(f"{url!r} is not grpc://HOST:PORT or grpcs://HOST:PORT")
        self.url, self.target, self.tls = url, f"{parts.hostname}:{parts.port}", parts.scheme == "grpcs"
        self.instance, self.upload, self.headers, self.timeout = instance, upload, dict(headers or {}), timeout


TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def settings_from(option, environ) -> Optional[Settings]:
    """The remote cache the command line (`option(name)`) or else the environment names; None without one.
    ValueError names what is wrong."""
    if option("no_remote_cache"):
        return None
    url = option("remote_cache") or environ.get("SCONSRULES_REMOTE_CACHE")
    if not url:
        return None
    upload = (option("remote_upload") or environ.get("SCONSRULES_REMOTE_UPLOAD") or "true").lower()
    if upload not in TRUE + FALSE:
        raise ValueError(f"--remote-upload takes true or false, not {upload!r}")
    headers = {}
    for item in option("remote_header") or [h for h in environ.get("SCONSRULES_REMOTE_HEADER", "").split("\n") if h]:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--remote-header {item.split('=')[0]!r} is not NAME=VALUE (VALUE may be @file or $VAR)")
        headers[name.strip()] = header_value(value)
    try:
        timeout = float(option("remote_timeout") or environ.get("SCONSRULES_REMOTE_TIMEOUT") or TIMEOUT)
    except ValueError:
        raise ValueError("--remote-timeout takes seconds, e.g. 10") from None
    instance = option("remote_instance") or environ.get("SCONSRULES_REMOTE_INSTANCE") or ""
    return Settings(url, instance, upload in TRUE, headers, timeout)


def header_value(text: str) -> str:
    """A header's value as given: `@path` reads a file (a token file), `$NAME` an environment variable."""
    if text.startswith("@"):
        try:
            with open(os.path.expanduser(text[1:])) as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the header file {text[1:]}: {exc.strerror}") from None
    if text.startswith("$"):
        value = os.environ.get(text[1:])
        if value is None:
            raise ValueError(f"environment variable {text[1:]} is not set")
        return value
    return text


class RemoteCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = True
        self.bytes_down = self.bytes_up = 0
        self._lock = threading.Lock()
        self._channel = None
        self._stubs: Optional[tuple] = None

    # -- plumbing ------------------------------------------------------------------------------------------

    def _connect(self):
        with self._lock:  # steps ask from several threads (-j): one channel per run
            return self._stubs or self._open()

    def _open(self):
        import grpc
        from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2_grpc as rg
        from buildgrid._protos.google.bytestream import bytestream_pb2_grpc as bg

        s = self.settings
        options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
        self._channel = (grpc.secure_channel(s.target, grpc.ssl_channel_credentials(), options) if s.tls
                         else grpc.insecure_channel(s.target, options))
        self._stubs = (rg.ActionCacheStub(self._channel), rg.ContentAddressableStorageStub(self._channel),
                       bg.ByteStreamStub(self._channel))
        return self._stubs

    def _metadata(self):
        return tuple((k.lower(), v) for k, v in self.settings.headers.items())

    def _call(self, what: str, fn, *args, timeout=None, **kwargs):
        import grpc

        try:
            return fn(*args, timeout=timeout or self.settings.timeout, metadata=self._metadata(), **kwargs)
        except grpc.RpcError as exc:
            if what == "GetActionResult" and exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise RemoteUnavailable(f"{what}: {exc.code().name}: {exc.details()}") from None

    def disable(self, cause: str) -> None:
        with self._lock:
            if not self.enabled:
                return
            self.enabled = False
        emit(f"sconsrules: warning: remote cache {self.settings.url}: {cause}; building locally for the rest of "
             "this run")

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    # -- ActionCache ---------------------------------------------------------------------------------------

    def get_result(self, action_digest):
        ac, _, _ = self._connect()
        pb = reapi.protos()
        return self._call("GetActionResult", ac.GetActionResult, pb.GetActionResultRequest(
            instance_name=self.settings.instance, action_digest=action_digest, inline_stdout=False,
            inline_stderr=False))

    def put_result(self, action_digest, result) -> None:
        ac, _, _ = self._connect()
        pb = reapi.protos()
        self._call("UpdateActionResult", ac.UpdateActionResult, pb.UpdateActionResultRequest(
            instance_name=self.settings.instance, action_digest=action_digest, action_result=result))

    # -- CAS -----------------------------------------------------------------------------------------------

    def read(self, digest) -> Iterator[bytes]:
        """A blob's chunks; its size is checked here, its sha256 by the caller's writer."""
        _, cas, bs = self._connect()
        pb = reapi.protos()
        got = 0
        if digest.size_bytes <= SMALL:
            reply = self._call("BatchReadBlobs", cas.BatchReadBlobs, pb.BatchReadBlobsRequest(
                instance_name=self.settings.instance, digests=[digest]))
            found = [r for r in reply.responses if r.digest.hash == digest.hash]
            if not found or found[0].status.code != 0:
                raise RemoteUnavailable(f"blob {digest.hash[:12]} is missing from the server's CAS")
            chunks: Iterator[bytes] = iter([found[0].data])
        else:
            from buildgrid._protos.google.bytestream import bytestream_pb2

            name = f"{self.settings.instance + '/' if self.settings.instance else ''}blobs/{digest.hash}/{digest.size_bytes}"
            stream = self._call("Read", bs.Read, bytestream_pb2.ReadRequest(resource_name=name),
                                timeout=self.settings.timeout * (1 + digest.size_bytes / CHUNK))
            chunks = (r.data for r in stream)
        import grpc

        try:
            for chunk in chunks:
                got += len(chunk)
                if got > digest.size_bytes:
                    break
                yield chunk
        except grpc.RpcError as exc:
            raise RemoteUnavailable(f"Read: {exc.code().name}: {exc.details()}") from None
        self.bytes_down += got
        if got != digest.size_bytes:
            raise reapi.BadTree(f"blob {digest.hash[:12]}: {got} bytes, its digest says {digest.size_bytes}")

    def read_all(self, digest) -> bytes:
        data = b"".join(self.read(digest))
        if reapi.digest_of(data).hash != digest.hash:
            raise reapi.BadTree(f"blob {digest.hash[:12]}: content does not match its digest")
        return data

    def upload(self, blobs: "reapi.Blobs") -> None:
        """The blobs the server lacks (FindMissingBlobs first)."""
        _, cas, bs = self._connect()
        pb = reapi.protos()
        missing = self._call("FindMissingBlobs", cas.FindMissingBlobs, pb.FindMissingBlobsRequest(
            instance_name=self.settings.instance, blob_digests=list(blobs.digests.values()))).missing_blob_digests
        batch, size = [], 0
        for digest in missing:
            if digest.size_bytes > SMALL:
                self._write(bs, digest, blobs)
                continue
            data = blobs.data.get(digest.hash)
            if data is None:
                with open(blobs.files[digest.hash], "rb") as fh:
                    data = fh.read()
            batch.append(pb.BatchUpdateBlobsRequest.Request(digest=digest, data=data))
            size += len(data)
            if size > 2 * SMALL:
                self._batch(cas, batch)
                batch, size = [], 0
        if batch:
            self._batch(cas, batch)

    def _batch(self, cas, requests) -> None:
        pb = reapi.protos()
        reply = self._call("BatchUpdateBlobs", cas.BatchUpdateBlobs, pb.BatchUpdateBlobsRequest(
            instance_name=self.settings.instance, requests=requests))
        bad = [r for r in reply.responses if r.status.code != 0]
        if bad:
            raise RemoteUnavailable(f"BatchUpdateBlobs: {bad[0].status.message or bad[0].status.code}")
        self.bytes_up += sum(len(r.data) for r in requests)

    def _write(self, bs, digest, blobs) -> None:
        from buildgrid._protos.google.bytestream import bytestream_pb2

        prefix = self.settings.instance + "/" if self.settings.instance else ""
        import uuid
        name = f"{prefix}uploads/{uuid.uuid4()}/blobs/{digest.hash}/{digest.size_bytes}"
        path = blobs.files[digest.hash]

        def requests():
            offset = 0
            with open(path, "rb") as fh:
                while True:
                    data = fh.read(CHUNK)
                    last = offset + len(data) >= digest.size_bytes
                    yield bytestream_pb2.WriteRequest(resource_name=name if offset == 0 else "", write_offset=offset,
                                                      finish_write=last, data=data)
                    offset += len(data)
                    if last or not data:
                        return

        self._call("Write", bs.Write, requests(), timeout=self.settings.timeout * (1 + digest.size_bytes / CHUNK))
        self.bytes_up += digest.size_bytes
