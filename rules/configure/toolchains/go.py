"""The Go SDK: which `go` runs, its identity, and what passes through to it (caches, network settings).

The fixed part of a hermetic `go` environment (GOENV=off, GOFLAGS, GOTOOLCHAIN=local) is in actions/commands.py:
only what the rule declares decides the bytes.
"""
import json
import os
import shutil
import subprocess

import attrs

from ..identity import ToolIdentities

PASSTHROUGH = ("HOME", "XDG_CACHE_HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GONOPROXY", "GOPRIVATE",
               "GONOSUMDB", "GONOSUMCHECK", "GOSUMDB", "GOINSECURE", "GOAUTH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
               "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR")


@attrs.frozen
class GoSDK:
    exe: str
    ids: ToolIdentities = attrs.field(factory=ToolIdentities, eq=False, hash=False, repr=False)

    @classmethod
    def find(cls, name, ids):
        exe = shutil.which(name) if not os.path.isabs(name) else (name if os.path.exists(name) else None)
        return cls(exe, ids) if exe else None

    def identity(self):
        return self.ids.of([self.exe, "version"], [os.path.realpath(self.exe)])

    def goroot(self):
        """GOROOT of a standard layout (GOROOT/bin/go), found without running go."""
        return os.path.dirname(os.path.dirname(os.path.realpath(self.exe)))

    def passenv(self):
        env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        env.setdefault("HOME", os.path.expanduser("~"))
        return env


FETCH_VARS = ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOINSECURE")


def _go_env_file():
    if os.environ.get("GOENV"):
        return os.environ["GOENV"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "go", "env")


def module_fetch_env(ids, go_exe="go"):
    """How this machine fetches Go modules: the user's environment, else this machine's `go env` (its config file
    included), else go's own defaults (an empty value). For the one networked step, which may run with an image's
    go that knows nothing of this machine; these never enter signatures (go.sum checks what arrives)."""
    configured = {}
    exe = shutil.which(go_exe)
    if exe:
        keys = [os.path.realpath(exe)] + [f for f in [_go_env_file()] if os.path.isfile(f)]
        try:
            configured = json.loads(ids.of([exe, "env", "-json", *FETCH_VARS], keys) or "{}")
        except (OSError, ValueError, subprocess.SubprocessError):
            configured = {}
    return {k: os.environ.get(k) or configured.get(k) or "" for k in FETCH_VARS}
