"""The Go SDK: which `go` runs, its identity, and the environment a hermetic `go build` gets.

GOENV=off, GOFLAGS and GOTOOLCHAIN=local keep a user's `go env -w` settings and toolchain switching out
of the build: only what the rule declares decides the bytes. Network and cache settings pass through.
"""
import os
import shutil

import attrs

from ..identity import tool_identity

PASSTHROUGH = ("HOME", "XDG_CACHE_HOME", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GONOPROXY", "GOPRIVATE",
               "GONOSUMDB", "GONOSUMCHECK", "GOSUMDB", "GOINSECURE", "GOAUTH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
               "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR")
FIXED = {"GOENV": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local", "GO111MODULE": "on", "GOWORK": "off"}


@attrs.frozen
class GoSDK:
    exe: str

    @classmethod
    def find(cls, name):
        exe = shutil.which(name) if not os.path.isabs(name) else (name if os.path.exists(name) else None)
        return cls(exe) if exe else None

    def identity(self):
        return tool_identity([self.exe, "version"], [os.path.realpath(self.exe)])

    def goroot(self):
        """GOROOT of a standard layout (GOROOT/bin/go), found without running go."""
        return os.path.dirname(os.path.dirname(os.path.realpath(self.exe)))

    def passenv(self):
        env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        env.setdefault("HOME", os.path.expanduser("~"))
        return env
