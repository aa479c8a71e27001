"""A C (and Go) toolchain inside a container image: any image with a compiler, driven through the Docker SDK.

The image is either named (image=, never pulled: no registry is assumed) or built from a Dockerfile by a
tracked build step (images.py) whose output file holds the image ID. Either way the image ID enters the
signature of every artifact built in it.
"""
import os
import re
import shlex
from typing import Optional

import attrs

from ...errors import RuleError, describe
from ..platform import Platform
from .base import Toolchain


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sconsrules", "containers")


def sanitize(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "image"


@attrs.frozen
class ContainerGo:
    """The `go` inside the image: its identity is the image's; its caches are the container's."""

    exe: str

    def identity(self):
        return ""

    def goroot(self):
        return None

    def passenv(self):
        return {}


# What a link through the C driver needs for each C++ runtime an image may have: g++'s (musl-based on Alpine, or
# glibc's, which the verifier then refuses), or LLVM's as zig c++ builds it (libc++.a holding libc++abi).
CXX_RUNTIMES = {"libstdc++": ("-lstdc++",), "libc++": ("-lc++",)}


@attrs.frozen
class ContainerToolchain(Toolchain):
    executor = "container"
    prefetch_modules = True
    host_libraries = False
    name: str  # part of the configuration directory, e.g. "ctr-sconsrules-builder-bookworm"
    display: str  # the image or Dockerfile, for messages
    cc_command: tuple
    cxx_command: tuple
    ar_command: tuple
    go_command: str
    platforms: tuple  # what it can build for
    cxx_runtime_name: str = "libstdc++"  # the image's C++ standard library, linked statically (CXX_RUNTIMES)
    image: Optional[str] = None
    image_id_file: Optional[str] = None  # Dockerfile mode: the tracked image build writes the ID here
    resolved_id: Optional[str] = None  # image mode: looked up once when declared
    image_node: object = attrs.field(default=None, eq=False, hash=False, repr=False)  # Dockerfile mode

    def split_debug_missing(self):
        return ("split debug files are made natively (zig or musl-gcc): the rewrite of the toolchain's paths in "
                "the DWARF is not set up for an image")

    def sources(self):
        return (self.image_node,) if self.image_node is not None else ()

    def check_platform(self, platform, rule, target):
        if platform not in self.platforms:
            raise RuleError(rule, target, f"container toolchain {self.display} builds for "
                            f"{', '.join(map(str, self.platforms))}, not {platform}",
                            "use an image for that architecture (or with a cross compiler, and say so with platforms=)")

    def cc(self, platform):
        return list(self.cc_command)

    def cxx(self, platform):
        return list(self.cxx_command)

    def cxx_runtime(self):
        return self.cxx_runtime_name

    def cxx_link_flags(self, platform):
        return list(CXX_RUNTIMES[self.cxx_runtime_name])

    def ar(self, platform):
        return list(self.ar_command)

    def default_copts(self, platform):
        return ["-O2"]

    def identity(self):
        return f"image {self.resolved_id}" if self.resolved_id else f"dockerfile {self.display}"

    def go_sdk(self):
        return ContainerGo(self.go_command)

    @property
    def cache_dir(self):
        return os.path.join(cache_root(), self.name)

    def cache_dirs(self):
        return (self.cache_dir,)

    def container_env(self):
        """Caches persist on the host between runs; the build itself never reaches the network."""
        c = self.cache_dir
        return {"HOME": f"{c}/home", "XDG_CACHE_HOME": f"{c}/xdg", "GOCACHE": f"{c}/go-build",
                "GOMODCACHE": f"{c}/gomod", "GOPATH": f"{c}/gopath", "GOPROXY": "off", "GOSUMDB": "off"}

    def image_id(self):
        if self.image_id_file:
            with open(self.image_id_file) as fh:
                return fh.read().strip()
        return self.resolved_id


def lookup_image(image, rule, target):
    """The image's ID and architecture, asked at read time (through the engine's socket without the SDK when
    it is local); a missing image is an error (nothing is ever pulled)."""
    from ...execute import engine

    try:
        found = engine.image(image)
    except engine.Unreachable:  # not a unix socket, or no answer there: the SDK asks (and says why, in its words)
        found = _sdk_image(image, rule, target)
    if found is None:
        raise RuleError(rule, target, f"image '{image}' is not on this Docker engine, and no registry is "
                        "reached, so it is never pulled",
                        "build it from a Dockerfile with dockerfile=..., or `docker load`/`docker import` it")
    return found["Id"], found.get("Architecture", "")


def _sdk_image(image, rule, target):
    import docker

    from ...execute.container import client_or_error

    try:
        return client_or_error(rule, target).images.get(image).attrs
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as exc:
        raise RuleError(rule, target, f"cannot inspect image '{image}': {exc.explanation or exc}") from None


def split_command(value, what):
    if isinstance(value, str):
        return tuple(shlex.split(value))
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value) and value:
        return tuple(value)
    raise ValueError(f"{what} must be a command (a string or a list of strings), not {describe(value)}")


def platforms_for(arch, declared):
    if declared:
        return tuple(Platform.parse(p) for p in declared)
    for name in ("amd64", "arm64"):
        if arch == name:
            return (Platform("linux", name),)
    return (Platform.host(),)
