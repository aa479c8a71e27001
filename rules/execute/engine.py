"""Read-only questions to a local Docker engine without the Docker SDK, whose import alone costs ~0.1 s.

A null build with a container toolchain asks the engine one thing (the image's ID) and a rebuild in a kept
builder one more (which builder to adopt); both are a GET on the engine's unix socket. Anything else (starting
containers, removing them, building images) and any DOCKER_HOST that is not a unix socket go through the SDK.
"""
import json
import os
import socket
from urllib.parse import quote, urlencode

DEFAULT_HOST = "unix:///var/run/docker.sock"


class Unreachable(Exception):
    """No engine answered on the socket."""


def socket_path():
    """The engine's unix socket, or None when DOCKER_HOST names another transport (the SDK handles those)."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    return host[len("unix://"):] if host.startswith("unix://") else None


def get(path, query=None, timeout=60):
    """(HTTP status, decoded JSON body or None) of GET `path` on the engine."""
    where = socket_path()
    if where is None:
        raise Unreachable("DOCKER_HOST is not a unix socket")
    target = path + ("?" + urlencode(query) if query else "")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(where)
            sock.sendall(f"GET {target} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc.strerror or exc}") from None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(body) if body.strip() else None
    except (IndexError, ValueError):
        raise Unreachable("the engine's answer is not HTTP with JSON") from None


def image(name):
    """The engine's inspection of image `name` (a dict), or None when it has no such image."""
    status, body = get(f"/images/{quote(name, safe='')}/json")
    if status == 404:
        return None
    if status != 200:
        raise Unreachable(f"inspecting image '{name}' answered HTTP {status}: {(body or {}).get('message', '')}")
    return body


def running_containers(label):
    """IDs of running containers carrying `label` ("key=value")."""
    status, body = get("/containers/json", {"filters": json.dumps({"label": [label], "status": ["running"]})})
    if status != 200:
        raise Unreachable(f"listing containers answered HTTP {status}")
    return [c["Id"] for c in body or ()]
