"""A Step as a Remote Execution API (v2) Action, and directory outputs as REAPI Trees, with the published protos
(shipped by BuildGrid, the `remote` extra); imported only when a remote cache is configured.

The Action is what a REAPI server keys on, so it holds nothing of this machine: the Command's arguments and
environment are the step's commands with the checkout, HOME and tool install paths written as names (as
Step.signature(root, installs) does), its
platform properties name the configuration, the tool identities and that signature's digest, and the input root
is a Merkle tree of the files the step reads, by sha256, at their checkout-relative paths (a file outside the
checkout, such as a toolchain's image ID file, at `_external/<its sha256>`). Two checkouts of the same commit
on two machines therefore ask for the same Action digest. Outputs are named relative to the checkout as well.
"""
import hashlib
import os
from typing import Dict, Iterable, List, Optional, Tuple

from ..actions.step import portable
from .tree import TreeWriter, UnsafeTree, entries, file_sha256


def protos():
    from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2

    return remote_execution_pb2


def digest_of(data: bytes):
    return protos().Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def file_digest(path: str):
    return protos().Digest(hash=file_sha256(path), size_bytes=os.path.getsize(path))


def _bytes(message) -> bytes:
    return message.SerializeToString(deterministic=True)


class Blobs:
    """Content to upload with an Action or a result: serialized messages by hash, and files by hash."""

    def __init__(self) -> None:
        self.data: Dict[str, bytes] = {}
        self.files: Dict[str, str] = {}
        self.digests: Dict[str, object] = {}

    def message(self, message):
        data = _bytes(message)
        digest = digest_of(data)
        self.data[digest.hash], self.digests[digest.hash] = data, digest
        return digest

    def file(self, path: str):
        digest = file_digest(path)
        self.files.setdefault(digest.hash, path)
        self.digests[digest.hash] = digest
        return digest


def _directory(files: Dict[str, Tuple[object, bool]], links: Dict[str, str], dirs: Iterable[str], blobs: Blobs,
               children: Optional[List] = None):
    """The root Directory of relative paths (digest, executable) / link targets / empty directories: each level
    sorted by name, as REAPI requires for a canonical digest."""
    pb = protos()
    tree: dict = {}

    def node(parts):
        level = tree
        for part in parts:
            level = level.setdefault(part, {})
        return level

    for path, (digest, executable) in files.items():
        *parents, name = path.split("/")
        node(parents)[name] = ("file", digest, executable)
    for path, target in links.items():
        *parents, name = path.split("/")
        node(parents)[name] = ("link", target)
    for path in dirs:
        node(path.split("/"))

    def build(level):
        d = pb.Directory()
        for name in sorted(level):
            entry = level[name]
            if isinstance(entry, dict):
                child = build(entry)
                if children is not None:
                    children.append(child)
                d.directories.add(name=name, digest=blobs.message(child))
            elif entry[0] == "file":
                d.files.add(name=name, digest=entry[1], is_executable=entry[2])
            else:
                d.symlinks.add(name=name, target=entry[1])
        return d

    return build(tree)


def action(step, root: str, inputs: Iterable[str], blobs: Blobs, installs=()):
    """The Action digest of `step` run in the checkout at `root` reading the files `inputs`; `installs` as for
    Step.signature."""
    pb = protos()

    def text(value) -> str:
        return portable(str(value), root, installs)

    files = {}
    for path in sorted(set(inputs)):
        if not os.path.isfile(path):
            continue
        digest = blobs.file(path)
        rel = os.path.relpath(path, root)
        name = rel if not rel.startswith("..") else f"_external/{digest.hash}"
        files[name] = (digest, bool(os.stat(path).st_mode & 0o100))
    input_root = blobs.message(_directory(files, {}, (), blobs))
    command = pb.Command()
    shown = [c.shown for c in step.commands]  # a link that a Call runs, as that command
    for c in shown:  # another Call's argv is its function's name (its arguments are in the signature)
        command.arguments.extend(map(text, c.argv))
        command.arguments.append("&&")
    for name, value in sorted({k: v for c in shown for k, v in dict(c.env).items()}.items()):
        command.environment_variables.add(name=name, value=text(value))
    command.output_paths.append(os.path.relpath(step.out, root))
    properties = {"sconsrules.rule": step.rule, "sconsrules.config": step.config or "",
                  "sconsrules.signature": step.signature(root, installs), "sconsrules.executor": step.executor}
    properties.update((f"sconsrules.tool.{i}", str(identity)) for i, identity in enumerate(step.identities))
    for name in sorted(properties):
        command.platform.properties.add(name=name, value=text(properties[name]))
    act = pb.Action(command_digest=blobs.message(command), input_root_digest=input_root)
    act.platform.CopyFrom(command.platform)
    return blobs.message(act)


def tree_of(path: str, blobs: Blobs):
    """The REAPI Tree of the directory `path` (its files' contents go into `blobs`)."""
    found, links, dirs = entries(path)
    files = {rel: (blobs.file(full), executable) for rel, full, executable in found}
    children: list = []
    root = _directory(files, dict(links), dirs, blobs, children)
    tree = protos().Tree(root=root)
    tree.children.extend(children)
    return tree


class BadTree(Exception):
    """A Tree that cannot be written as it is (untrusted: from a server)."""


def write_tree(tree, dest: str, fetch) -> None:
    """Write the REAPI `tree` at `dest` through TreeWriter (no entry leaves it); `fetch(digest)` yields a file's
    chunks and the writer's sha256 of what it wrote must be the digest's."""
    by_digest = {digest_of(_bytes(d)).hash: d for d in tree.children}
    try:
        with TreeWriter(dest) as writer:
            def walk(directory, prefix, depth):
                if depth > 64:
                    raise BadTree("directories nested deeper than 64")
                for f in directory.files:
                    got = writer.file(prefix + f.name, fetch(f.digest), 0o755 if f.is_executable else 0o644)
                    if got != f.digest.hash:
                        raise BadTree(f"{prefix + f.name}: content sha256 {got[:12]} is not its digest "
                                      f"{f.digest.hash[:12]}")
                for d in directory.directories:
                    writer.directory(prefix + d.name)
                    child = by_digest.get(d.digest.hash)
                    if child is None:
                        raise BadTree(f"{prefix + d.name}: directory {d.digest.hash[:12]} missing from the tree")
                    walk(child, prefix + d.name + "/", depth + 1)
                for s in directory.symlinks:
                    writer.symlink(prefix + s.name, s.target)

            walk(tree.root, "", 0)
            writer.finish()
    except UnsafeTree as exc:
        raise BadTree(f"unsafe tree: {exc}") from None
