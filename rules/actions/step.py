"""The action model: what an artifact's build runs, as plain data, independent of where it runs.

A Step is the commands that write a temporary path, how that output is checked, and the final path it is
renamed to. Its signature covers every input that decides the bytes (argv, the environment that matters,
toolchain identities, the policy), so SCons rebuilds exactly when one of them changes.
"""
import functools
import hashlib
import os
import shlex
from typing import Any, Iterable, Optional, Tuple

import attrs

from ..verify import Policy


def tmp_of(out: str) -> str:
    """Where a step writes before its output is verified and renamed."""
    return out + ".sconsrules-tmp"


def read_response_file(path: str) -> list:
    """The arguments of a response file as this project writes them: one per line."""
    with open(path) as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def _strings(values: Iterable[str]) -> Tuple[str, ...]:
    return tuple(values)


def _values(values: Iterable[Any]) -> Tuple[Any, ...]:
    return tuple(values)


def _signed(attribute, value) -> bool:
    """A field added later (metadata "since") enters a signature only when set: adding it rebuilds nothing."""
    return "since" not in attribute.metadata or value != attribute.default


@functools.lru_cache(maxsize=1024)
def _signed_policy(policy) -> tuple:
    """A policy's signed fields; the steps of one target share a few policies, so each is walked once."""
    return attrs.astuple(policy, filter=_signed)


class _SignedRepr:
    """An attrs instance's repr without the later fields left at their default (see _signed)."""

    def __init__(self, inst) -> None:
        self.inst = inst

    def __repr__(self) -> str:
        shown = [f"{a.name}={getattr(self.inst, a.name)!r}" for a in attrs.fields(type(self.inst))
                 if a.repr and _signed(a, getattr(self.inst, a.name))]
        return f"{type(self.inst).__name__}({', '.join(shown)})"


def _pairs(mapping) -> Tuple[Tuple[str, str], ...]:
    return tuple(sorted((mapping or {}).items()))


@attrs.frozen
class Command:
    argv: Tuple[str, ...] = attrs.field(converter=_strings)
    env: Tuple[Tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)  # decides the output: signed
    cwd: Optional[str] = None
    network: bool = False  # only module downloads; a container executor runs these apart
    # Env vars whose `@file` words are replaced by the file's arguments when the command runs: cgo refuses
    # response files, and some flags (a PkgConfigCLib's) exist only once an earlier step has run.
    expand_env: Tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def at_run_time(self, extra: Iterable = (), rename: Optional[Tuple[str, str]] = None) -> "Command":
        """This command with its response files expanded, `extra` (name, words) appended to its env, and the
        path rename=(declared, actual) replaced wherever it occurs (the run's own temporary name)."""
        env = dict(self.env)
        if rename:
            old, new = rename
            env = {k: v.replace(old, new) for k, v in env.items()}
        for name in self.expand_env:
            words: list = []
            for word in shlex.split(env.get(name, "")):
                words += read_response_file(word[1:]) if word.startswith("@") else [word]
            env[name] = shlex.join(words)
        for name, words in extra:
            env[name] = " ".join(filter(None, [env.get(name, ""), shlex.join(words)]))
        argv = [a.replace(rename[0], rename[1]) for a in self.argv] if rename else self.argv
        return attrs.evolve(self, argv=argv, env=env, expand_env=())

    @property
    def shown(self) -> "Command":
        """What a failure shows (Call.shown's counterpart)."""
        return self

    def signed(self) -> tuple:
        """`attrs.astuple(self)`, which signatures have always used, without its generic walk (every field is
        already a plain tuple, string or bool): a read computes one per step."""
        return (self.argv, self.env, self.cwd, self.network, self.expand_env)

    def render(self, passenv: Iterable[Tuple[str, str]] = ()) -> str:
        """A shell line that runs it; `passenv` (what the step passes through) joins the env for --subcommands."""
        env = sorted({**dict(passenv), **dict(self.env)}.items())
        words = [f"{k}={shlex.quote(v)}" for k, v in env] + [shlex.quote(a) for a in self.argv]
        line = " ".join(words)
        return f"(cd {shlex.quote(self.cwd)} && {line})" if self.cwd else line



@attrs.frozen
class Call:
    """A step's work done by a function of this package, in the scons process: fetching and unpacking an
    archive, building an image through the Docker SDK. Data like a Command (a dotted function name and its
    arguments), run by the native executor; the function raises RuleError for a stated cause."""

    function: str  # "sconsrules.execute.fetch:materialize"
    args: Tuple[Any, ...] = attrs.field(converter=_values)
    # The function runs Commands through the step's executor: it is given run=(Command -> (code, output)) and
    # who=(rule, target) (the go list of a cgo link's inputs runs where go build will).
    runs_commands: bool = False
    env: tuple = ()
    cwd: Optional[str] = None
    network: bool = False
    expand_env: tuple = ()
    # The position in args of a Command whose exit status and output the function returns (a link it runs):
    # the step judges and shows them as that command's.
    reports: Optional[int] = attrs.field(default=None, metadata={"since": "0.4"})
    # A library's member compiles: the function also gets slots= (execute/slots.py), to run independent commands
    # side by side in the job slots no other step holds, and, as its last argument at run time, the digest of
    # each of the step's sources and of what SCons's scanner found from it (by path).
    scanned: bool = attrs.field(default=False, metadata={"since": "0.5"})

    @property
    def argv(self) -> Tuple[str, ...]:
        return (self.function,)

    def at_run_time(self, extra: Iterable = (), rename: Optional[Tuple[str, str]] = None,
                    inputs: Optional[dict] = None) -> "Call":
        """String and Command arguments renamed; the reported Command is also given the step's `extra` env, as
        the step's own commands are; a `scanned` Call gets `inputs` (see there) as its last argument."""
        extra = tuple(extra) if self.reports is not None else ()
        last = (dict(inputs or {}),) if self.scanned else ()
        if not rename and not extra and not last:
            return self
        old, new = rename or ("", "")

        def ready(index, arg):
            if isinstance(arg, Command):
                return arg.at_run_time(extra if index == self.reports else (), rename)
            return arg.replace(old, new) if rename and isinstance(arg, str) else arg

        return attrs.evolve(self, args=[ready(i, a) for i, a in enumerate(self.args)] + list(last))

    @property
    def shown(self):
        """What a failure shows: the Command the function reports on, or the call itself."""
        return self if self.reports is None else self.args[self.reports]

    def signed(self) -> tuple:
        """Its arguments may hold commands and policies: the generic walk; the later fields only when set."""
        return tuple(value for a, value in zip(attrs.fields(Call), attrs.astuple(self)) if _signed(a, value))

    def render(self) -> str:
        return f"{self.function}{self.args!r}"


@attrs.frozen
class Outputs:
    """What a step leaves. kind "file": the commands write `path`; "stamp": `path` is written after the
    commands (with `stamp`, or the step's signature); "tree": `path` is a directory the commands fill, whose SCons
    targets are its `members` or, with none declared, `path` + ".stamp" (written with `stamp`)."""

    path: str
    kind: str = attrs.field(default="file", validator=attrs.validators.in_(("file", "stamp", "tree")))
    members: Tuple[str, ...] = ()  # tree: files that must be there (the SCons targets)
    stamp: Optional[str] = None
    # file: suffixes of files the commands write beside it (`<path><suffix>`), published with it.
    side: Tuple[str, ...] = attrs.field(default=(), converter=_strings, metadata={"since": "0.3"})

    @side.validator
    def _side(self, attribute, value):
        if value and self.kind != "file":
            raise ValueError("side files go with a file output")

    @property
    def suffixes(self) -> Tuple[str, ...]:
        """The file output's own suffix ("") and its side files': `path + suffix` names each file it leaves."""
        return ("",) + self.side

    @property
    def stamp_path(self) -> Optional[str]:
        return self.path + ".stamp" if self.kind == "tree" and not self.members else None


@attrs.frozen
class Verification:
    """How the output is judged before it takes its name: None policy means it is not an artifact (a stamp,
    an image ID, a source tree)."""

    policy: Optional[Policy] = None
    prechecks: Tuple[Tuple[str, Policy], ...] = ()  # inputs verified before any command runs
    glob: Optional[str] = None  # tree outputs: verify the files this matches instead of the members
    report: bool = False  # write <out>.verify.json beside the artifact
    hint: Optional[str] = None  # what to do when verification fails, if better than the generic hint


@attrs.frozen
class Caching:
    """How a step's result may be reused beyond SCons's own signatures."""

    shared: bool = False  # a tree the per-machine output cache always holds (path-free contents; costly builds)
    # Outputs that are a function of the signed commands and the inputs alone (no state of this machine): with a
    # remote cache configured, they come from the local cache, then the remote one, like shared ones.
    remote: bool = False
    # Go's build cache keys a cgo compile on flag strings and the package's own files, never on headers
    # outside it: a digest of these inputs (and of the headers scanned from them) goes into this env var.
    digest_env: Optional[str] = None
    digest_inputs: Tuple[str, ...] = ()


def portable(text: str, root: str, installs: Iterable[Tuple[str, str]] = ()) -> str:
    """`text` with what differs between machines written as names: tool install directories (longest first),
    the checkout (`<root>`) and HOME (`<home>`: leak-path policies name it, and a restored output is verified
    against this machine's policy anyway)."""
    for path, name in sorted(installs, key=lambda i: -len(i[0])):
        if path.rstrip("/"):
            text = text.replace(path.rstrip("/"), name)
    text = text.replace(root, "<root>")
    home = os.path.expanduser("~").rstrip("/")
    return text.replace(home, "<home>") if home else text


@attrs.frozen
class Step:
    rule: str  # "StaticCLib", "GoCgoBinary"
    label: str  # the target's name as declared
    config: str  # configuration directory name
    what: str  # short description for the progress line
    commands: Tuple[Any, ...]  # Command or Call
    outputs: Outputs
    verification: Verification = Verification()
    identities: Tuple[str, ...] = ()  # toolchain versions
    passenv: Tuple[Tuple[str, str], ...] = ()  # needed to run but not deciding the output (caches, proxies)
    executor: str = "native"  # which executor runs the commands (a container configuration's key)
    quiet: bool = False  # long build logs: kept in <out>.log, shown (their end) only when the step fails
    caching: Caching = Caching()
    # Directories the commands leave beside the output (a foreign build's copy of its source tree), removed
    # once the output is verified and in place; kept after a failure, for its logs. Not in the signature.
    scratch: Tuple[str, ...] = ()

    @property
    def out(self) -> str:
        return self.outputs.path

    @property
    def tmp(self) -> str:
        return tmp_of(self.out)

    def stamp_text(self) -> str:
        """What a stamp (a stamp output, or a tree's stamp file) holds: the declared text, or the signature."""
        return (self.outputs.stamp or self.signature()) + "\n"

    @property
    def policy(self) -> Optional[Policy]:
        return self.verification.policy

    def targets(self) -> list:
        """The paths SCons tracks for this step."""
        o = self.outputs
        if o.kind == "tree":
            return [o.stamp_path] if o.stamp_path else [f"{o.path}/{m}" for m in o.members]
        return [o.path + s for s in o.suffixes] + ([o.path + ".verify.json"] if self.verification.report else [])

    def signature(self, root: Optional[str] = None, installs: Iterable[Tuple[str, str]] = ()) -> str:
        """A digest of everything that decides the artifact's bytes; with `root`, one that does not depend on
        where the project is checked out, on the user's HOME, nor on where the tools named by `installs`
        ((directory, name) pairs: their identities are signed) are installed: for caches shared between
        checkouts and machines."""
        v = self.verification
        text = repr((self.rule, self.label, self.config, self.out, [c.signed() for c in self.commands],
                     _signed_policy(v.policy) if v.policy else None, self.identities,
                     tuple((path, _SignedRepr(policy)) for path, policy in v.prechecks), self.executor, self.outputs.members, v.glob, self.caching.digest_env))
        if self.outputs.side:
            text += repr(self.outputs.side)
        if self.outputs.stamp is not None:
            text += repr(self.outputs.stamp)
        if root:
            text = portable(text, root, installs)
        return hashlib.sha256(text.encode()).hexdigest()
