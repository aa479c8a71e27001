"""Container images as build steps: a toolchain image built from a tracked Dockerfile (ContainerToolchain's
dockerfile= mode), and the runtime image (`FROM scratch` + the verified static binary) users otherwise write by
hand as a last Dockerfile stage (ScratchImage; given a list, such as all that GoCgoBinary returned, an OCI
image layout instead).

Each writes the image ID to a file under build/images/: SCons tracks that file like any artifact, so an image
is rebuilt when its Dockerfile, context or binary changes and not otherwise, and everything built in it
depends on its ID. The Docker SDK work is in execute/images.py.
"""
import collections
import os

import attrs

from ..actions import Call, Outputs, commands, tmp_of
from ..configure.config import parse_platforms
from ..configure.toolchains.container import (CXX_RUNTIMES, ContainerToolchain, lookup_image, platforms_for, sanitize,
                                               split_command)
from ..errors import RuleError
from ..execute.images import CA_BUNDLE
from . import attributes as declare
from .release import source_epoch
from .rule import Rule


def context_files(context):
    files = []
    for dirpath, dirnames, filenames in os.walk(context):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        files += [os.path.join(dirpath, f) for f in sorted(filenames)]
    return files


@attrs.frozen
class ScratchAttrs:
    name: str  # the image tag
    binary: object = None
    ca_certs: bool = attrs.field(default=False, converter=declare.boolean("ca_certs"))
    args: tuple = attrs.field(default=(), converter=declare.string_list("args"))


class ScratchImage(Rule):
    kind = "ScratchImage"
    Attributes = ScratchAttrs
    unique_name = False  # a tag, not a target name
    positional = ("binary",)

    @classmethod
    def check_name(cls, name):
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise RuleError(cls.kind, str(name), "the first argument must be the image's tag, e.g. 'app:latest'")

    def analyze(self):
        nodes = self.env.Flatten([self.attrs.binary])
        if not nodes:
            raise self.error("binary is empty", "pass what GoCgoBinary returned (one node, or all its platforms)")
        self.binaries = []
        for node in nodes:
            step = getattr(getattr(node, "attributes", None), "sconsrules_step", None)
            if step is None or step.rule != "GoCgoBinary":
                raise self.error("binary must be a node returned by GoCgoBinary")
            self.binaries.append((step.policy.platform, node, step.policy))
        platforms = [str(p) for p, _, _ in self.binaries]
        twice = sorted({p for p in platforms if platforms.count(p) > 1})
        if twice:
            raise self.error(f"two binaries for {twice[0]}: an image has one per platform",
                             "pass one GoCgoBinary's nodes")
        # A list (what GoCgoBinary returns, however many platforms --platforms leaves) is the OCI layout form; one
        # node is an image in the engine.
        self.layout = isinstance(self.attrs.binary, (list, tuple, collections.UserList))
        if not self.layout and len(self.binaries) != 1:
            raise self.error(f"needs exactly one binary node, got {len(self.binaries)}",
                             "pass one node (app[0]) for an engine image, or a list for an OCI layout")
        self.binary = self.binaries[0][1]
        self.platform = platforms[0]
        if self.attrs.ca_certs and not os.path.exists(CA_BUNDLE):
            raise self.error(f"ca_certs=True needs {CA_BUNDLE} on this machine", "install ca-certificates")

    def returned(self):
        if self.layout:
            return self._layout()
        a = self.attrs
        out = os.path.join(self.ctx.build_dir(self.env), "images", sanitize(self.name) + ".id")
        step = self.step(None, "build image", [commands.scratch_image(self.name, self.binary.abspath, a.ca_certs,
                                                                      a.args, self.platform, tmp_of(out))],
                         Outputs(out))
        sources = [self.binary] + ([self.env.File(CA_BUNDLE)] if a.ca_certs else [])
        node = self.nodes(step, sources)[0]
        self.env.Alias(self.name, node)
        return node

    def _layout(self):
        """Every platform of a binary: an OCI image layout tarball (execute/oci.py), made here without an engine, with
        the release epoch ($SOURCE_DATE_EPOCH, else the last commit; 0 outside a checkout) as its time."""
        a = self.attrs
        out = os.path.join(self.ctx.build_dir(self.env), "images", sanitize(self.name) + ".oci.tar")
        try:
            epoch = source_epoch(self.env, self.srcdir.abspath) or 0
        except ValueError as exc:
            raise self.error(str(exc)) from None
        binaries = tuple((p, n.abspath, policy) for p, n, policy in self.binaries)
        step = self.step(None, "OCI layout", [Call("sconsrules.execute.oci:layout", (
            self.name, self.name, binaries, a.ca_certs, a.args, epoch, tmp_of(out)))], Outputs(out))
        sources = [n for _, n, _ in self.binaries] + ([self.env.File(CA_BUNDLE)] if a.ca_certs else [])
        node = self.nodes(step, sources)[0]
        node.attributes.sconsrules_image_layout = True
        self.ctx.registry.layouts[self.name] = node
        self.env.Alias(self.name, node)
        return node


@attrs.frozen
class ToolchainImageAttrs:
    name: str
    dockerfile: str
    context: str
    tag: str
    label: str


class ToolchainImage(Rule):
    """The image of a ContainerToolchain(dockerfile=...): rebuilt when the Dockerfile or its context changes."""

    kind = "ContainerToolchain"
    Attributes = ToolchainImageAttrs
    unique_name = False

    def returned(self):
        a = self.attrs
        out = os.path.join(self.ctx.build_dir(self.env), "images", self.name + ".id")
        step = self.step(None, "build image", [commands.dockerfile_image(a.label, a.tag, a.dockerfile, a.context,
                                                                         tmp_of(out))], Outputs(out),
                         label=a.label)
        files = sorted(set(context_files(a.context)) | {a.dockerfile})
        return self.nodes(step, [self.env.File(f) for f in files])[0], out


def container_toolchain(ctx, env, image=None, dockerfile=None, context=None, cc="gcc", cxx="g++", ar="ar", go="go",
                        platforms=None, name=None, cxx_runtime="libstdc++"):
    """A toolchain inside a container image (named, or built from a Dockerfile the build tracks)."""
    rule = "ContainerToolchain"
    label = image or dockerfile or "?"
    if (image is None) == (dockerfile is None):
        raise RuleError(rule, label, "give exactly one of image= or dockerfile=")
    if cxx_runtime not in CXX_RUNTIMES:
        raise RuleError(rule, label, f"cxx_runtime must be one of {', '.join(map(repr, CXX_RUNTIMES))}, not "
                        f"{declare.describe(cxx_runtime)}", "the C++ standard library the image's cxx links with")
    try:
        commands_ = dict(cc_command=split_command(cc, "cc"), cxx_command=split_command(cxx, "cxx"),
                         ar_command=split_command(ar, "ar"), go_command=split_command(go, "go")[0],
                         cxx_runtime_name=cxx_runtime)
        declared = parse_platforms(rule, label, platforms, "platforms") if platforms else None
    except ValueError as exc:
        raise RuleError(rule, label, str(exc)) from None
    if image is not None:
        if not isinstance(image, str) or not image:
            raise RuleError(rule, label, "image must be an image reference such as 'builder:tag'")
        image_id, arch = lookup_image(image, rule, image)
        return ContainerToolchain(name=name or "ctr-" + sanitize(image), display=image,
                                  platforms=platforms_for(arch, declared), image=image, resolved_id=image_id,
                                  ids=ctx.identities, **commands_)
    dockerfile_node = env.File(dockerfile)
    context_dir = env.Dir(context) if context else dockerfile_node.dir
    if not dockerfile_node.exists():
        raise RuleError(rule, dockerfile, f"Dockerfile not found: {dockerfile_node.path}")
    if not os.path.isdir(context_dir.abspath):
        raise RuleError(rule, dockerfile, f"context directory not found: {context_dir.path}")
    rel = os.path.relpath(dockerfile_node.abspath, env.Dir("#").abspath)
    tc_name = name or "ctr-" + sanitize(os.path.dirname(rel) or "dockerfile")
    attributes = ToolchainImageAttrs(name=tc_name, dockerfile=dockerfile_node.abspath, context=context_dir.abspath,
                                     tag=f"sconsrules/{tc_name.lower()}:latest", label=rel)
    node, out = ToolchainImage(ctx, env, attributes).returned()
    return ContainerToolchain(name=tc_name, display=rel, platforms=platforms_for(None, declared), image_id_file=out,
                              image_node=node, ids=ctx.identities, **commands_)
