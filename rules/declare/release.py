"""Release: what a release engineer hands over, made from verified binaries: for every platform a deterministic
`<name>_<version>_<os>_<arch>.tar.gz` (the platform's binaries and the given files under one top directory),
with `.debug.tar.gz` beside it holding the `<binary>.debug` files of split_debug binaries (same top directory),
CycloneDX and SPDX SBOMs per binary (`<that top>.<binary>.cdx.json` and `.spdx.json`, from the binary's own
records), the OCI layouts of `images=` (multi-platform ScratchImages), an in-toto/SLSA provenance statement
(`<name>_<version>.provenance.json`, execute/provenance.py) and a SHA256SUMS over all of them, in
build/release/<name>/.

The archives' timestamps are the epoch: $SOURCE_DATE_EPOCH when set, else the last commit's committer time,
read from the checkout's git objects (a packed commit asks `git`). The epoch is part of the steps' commands, so
a new commit rebuilds the archives and the same commit gives the same bytes anywhere.
"""
import json
import os
import re
import subprocess
import zlib
from typing import Optional

import attrs

from ..actions import Call, Command, Outputs, tmp_of
from ..actions.step import portable
from . import attributes as declare
from .rule import Rule

VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_~-]*$")


def _version(inst, attribute, value):
    if not isinstance(value, str) or not VERSION.match(value):
        raise declare.AttributeError_(f"version must be a string like '1.4.0' (letters, digits, . + _ ~ -), not "
                                      f"{declare.describe(value)}")


@attrs.frozen
class ReleaseAttrs:
    name: str
    binaries: tuple = attrs.field(default=(), converter=declare.node_list)
    version: str = attrs.field(default=None, validator=_version)
    files: tuple = attrs.field(default=(), converter=declare.node_list)
    images: tuple = attrs.field(default=(), converter=declare.node_list)


def _git_dir(start: str) -> Optional[str]:
    path = start
    while True:
        candidate = os.path.join(path, ".git")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _head(git: str) -> Optional[str]:
    with open(os.path.join(git, "HEAD")) as fh:
        head = fh.read().strip()
    if not head.startswith("ref: "):
        return head
    ref = head[5:]
    try:
        with open(os.path.join(git, ref)) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        pass
    try:
        with open(os.path.join(git, "packed-refs")) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except FileNotFoundError:
        pass
    return None


def last_commit_time(start: str) -> Optional[int]:
    """The committer time of HEAD in the git checkout holding `start`, or None outside one (or before the first
    commit). A loose commit object is read directly (no process in the read phase); a packed one asks git."""
    git = _git_dir(start)
    if git is None:
        return None
    try:
        sha = _head(git)
        if not sha or not re.fullmatch(r"[0-9a-f]{40}", sha):
            return None
        loose = os.path.join(git, "objects", sha[:2], sha[2:])
        if os.path.isfile(loose):
            with open(loose, "rb") as fh:
                text = zlib.decompress(fh.read()).decode("utf-8", "replace")
            found = re.search(r"^committer .* (\d+) [+-]\d{4}$", text, re.M)
            return int(found.group(1)) if found else None
    except (OSError, zlib.error, ValueError):
        return None
    proc = subprocess.run(["git", "--git-dir", git, "log", "-1", "--format=%ct"], capture_output=True, text=True)
    return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip().isdigit() else None


def source_epoch(env, start: str) -> Optional[int]:
    """$SOURCE_DATE_EPOCH (the build's ENV, else the process's), else the last commit's time, else None;
    ValueError when the variable is set but not whole seconds."""
    text = env.get("ENV", {}).get("SOURCE_DATE_EPOCH") or os.environ.get("SOURCE_DATE_EPOCH")
    if text:
        if not str(text).isdigit():
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {text!r}")
        return int(text)
    return last_commit_time(start)


class Release(Rule):
    kind = "Release"
    Attributes = ReleaseAttrs

    def analyze(self):
        a = self.attrs
        self.binaries = []
        for ref in a.binaries:
            if isinstance(ref, str):  # a GoCgoBinary's name: all its platforms
                found = [node for node, target, _ in self.ctx.registry.binaries if target.name == ref]
                if not found:
                    raise self.error(f"binaries: no GoCgoBinary named {ref!r} is declared (yet)",
                                     "declare the binaries before the release, or pass what GoCgoBinary returned")
            else:
                found = [ref]
            for node in found:
                step = getattr(getattr(node, "attributes", None), "sconsrules_step", None)
                if step is None or step.rule != "GoCgoBinary":
                    raise self.error(f"binaries: {declare.describe(node)} is not a node returned by GoCgoBinary",
                                     "pass what GoCgoBinary returned (all its platforms), or its name")
                self.binaries.append((node, step))
        if not self.binaries:
            raise self.error("binaries must name at least one GoCgoBinary")
        self.files = [self.env.File(f) if isinstance(f, str) else f for f in a.files]
        for f in self.files:
            if not os.path.isfile(f.srcnode().abspath) and not getattr(f, "has_builder", lambda: False)():
                raise self.error(f"files: {f.path} does not exist", "paths are relative to the SConscript")
        self.images = []
        for node in a.images:
            if isinstance(node, str):  # an image's tag
                node = self.ctx.registry.layouts.get(node, node)
            if not getattr(getattr(node, "attributes", None), "sconsrules_image_layout", False):
                raise self.error(f"images: {declare.describe(node)} is not an OCI layout",
                                 "pass the tag of (or what ScratchImage returned for) all the platforms of a GoCgoBinary")
            self.images.append(node)
        self.epoch = self._epoch()
        git = _git_dir(self.srcdir.abspath)
        self.commit = _head(git) if git else None

    def _epoch(self) -> Optional[int]:
        """The release's time, or None: then its steps fail when built (a checkout without git can still build
        everything else)."""
        try:
            return source_epoch(self.env, self.srcdir.abspath)
        except ValueError as exc:
            raise self.error(str(exc)) from None

    def _links(self) -> tuple:
        """Per binary, what the provenance says of its link: the go build command and the toolchain identities,
        with the checkout, HOME and tool install directories as names (actions/step.py:portable)."""
        root = self.env.Dir("#").abspath
        links = []
        for node, step in self.binaries:
            installs = self.ctx.install_dirs(getattr(node.attributes, "sconsrules_toolchain", None))
            build = [c.shown for c in step.commands if isinstance(c.shown, Command)][-1]  # the link a Call runs
            command = {"argv": list(build.argv), "env": dict(build.env), "cwd": build.cwd}
            command = json.loads(portable(json.dumps(command, sort_keys=True), root, installs))
            links.append((os.path.basename(node.abspath), str(step.policy.platform), node.abspath, command,
                          tuple(step.identities), step.policy))
        return tuple(links)

    def _work(self, call: Call) -> list:
        if self.epoch is not None:
            return [call]
        return [Call("sconsrules.execute.release:refuse", (
            self.name, "the release needs a fixed time: SOURCE_DATE_EPOCH is not set and this is not a git checkout "
            "with a commit", "export SOURCE_DATE_EPOCH=$(date +%s), or commit first"))]

    def _archive(self, out, name, top, members, sources):
        """The node of the step packing `members` ((name, path, policy or None)) under `top` into out/name."""
        path = os.path.join(out, name)
        step = self.step(None, f"archive {name}", self._work(Call(
            "sconsrules.execute.release:pack", (self.name, tmp_of(path), top, tuple(members), self.epoch))), Outputs(path))
        return self.nodes(step, sources)[0]

    def returned(self):
        a = self.attrs
        out = os.path.join(self.ctx.build_dir(self.env), "release", self.name)
        by_platform: dict = {}
        for node, step in self.binaries:
            by_platform.setdefault(step.policy.platform, []).append((node, step))
        archives = []
        for platform, binaries in sorted(by_platform.items(), key=lambda item: str(item[0])):
            arch = platform.arch + platform.info.variant
            top = f"{self.name}_{a.version}_{platform.os}_{arch}"
            members = [(os.path.basename(n.abspath), n.abspath, s.policy) for n, s in binaries]
            members += [(os.path.basename(f.abspath), f.abspath, None) for f in self.files]
            names = [m[0] for m in members]
            clash = sorted({n for n in names if names.count(n) > 1})
            if clash:
                raise self.error(f"[{platform}] two members would be named {clash[0]} in {top}.tar.gz",
                                 "give binaries and files distinct names")
            archives.append(self._archive(out, f"{top}.tar.gz", top, members,
                                          [n for n, _ in binaries] + self.files))
            debug = [self.env.File(n.abspath + ".debug") for n, s in binaries if ".debug" in s.outputs.side]
            if debug:  # beside the binaries when both are unpacked: gdb finds each by its .gnu_debuglink
                archives.append(self._archive(out, f"{top}.debug.tar.gz", top,
                                              [(os.path.basename(d.abspath), d.abspath, None) for d in debug], debug))
            for node, binary_step in binaries:
                binary = os.path.basename(node.abspath)
                for form, suffix in (("cyclonedx", "cdx.json"), ("spdx", "spdx.json")):
                    document = os.path.join(out, f"{top}.{binary}.{suffix}")
                    step = self.step(None, f"SBOM {top}.{binary}.{suffix}",
                                     self._work(Call("sconsrules.execute.release:sbom",
                                                     (self.name, binary, node.abspath, binary_step.policy, form,
                                                      self.epoch, tmp_of(document)))), Outputs(document))
                    archives.append(self.nodes(step, [node])[0])
        for image in self.images:
            path = os.path.join(out, f"{self.name}_{a.version}_{os.path.basename(image.abspath)}")
            step = self.step(None, f"image {os.path.basename(path)}",
                             [Call("sconsrules.execute.release:copy", (image.abspath, tmp_of(path)))], Outputs(path))
            archives.append(self.nodes(step, [image])[0])
        provenance = os.path.join(out, f"{self.name}_{a.version}.provenance.json")
        step = self.step(None, os.path.basename(provenance), self._work(Call(
            "sconsrules.execute.provenance:statement",
            (self.name, a.version, self.commit, self.epoch, self._links(),
             tuple(n.abspath for n in archives), tmp_of(provenance)))), Outputs(provenance))
        archives.append(self.nodes(step, archives + [n for n, _ in self.binaries])[0])
        sums = os.path.join(out, "SHA256SUMS")
        step = self.step(None, "SHA256SUMS", [Call("sconsrules.execute.release:checksums",
                                                   (tmp_of(sums), tuple(n.abspath for n in archives)))],
                         Outputs(sums))
        nodes = archives + [self.nodes(step, archives)[0]]
        self.env.Alias(self.name, nodes)
        self.env.Ignore(self.env.Dir(out), nodes)  # built when named (`scons NAME`), not by a plain `scons`
        return nodes
