"""The action model: what an artifact's build runs, as plain data, independent of where it runs.

A Step is the commands that write a temporary file, the policy it is verified against, and the final
path it is renamed to. Its signature covers every input that decides the bytes (argv, the environment
that matters, toolchain identities, the policy), so SCons rebuilds exactly when one of them changes.
"""
import hashlib
import shlex

import attrs

from .verify import Policy


def tmp_of(out):
    """Where a step writes before its output is verified and renamed."""
    return out + ".sconsrules-tmp"


def read_response_file(path):
    """The arguments of a response file as this project writes them: one per line."""
    with open(path) as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def _pairs(mapping):
    return tuple(sorted((mapping or {}).items()))


@attrs.frozen
class Command:
    argv: tuple = attrs.field(converter=tuple)
    env: tuple = attrs.field(default=(), converter=_pairs)  # decides the output: in the signature
    cwd: str = None
    network: bool = False  # only module downloads; a container executor runs these apart
    # Env vars whose `@file` words are replaced by the file's arguments when the command runs: cgo refuses
    # response files, and some flags (a PkgConfigCLib's) exist only once an earlier step has run.
    expand_env: tuple = attrs.field(default=(), converter=tuple)

    def at_run_time(self, extra=(), rename=None):
        """This command with its response files expanded, `extra` (name, words) appended to its env, and the
        path rename=(declared, actual) replaced wherever it occurs (the run's own temporary name)."""
        env = dict(self.env)
        if rename:
            old, new = rename
            env = {k: v.replace(old, new) for k, v in env.items()}
        for name in self.expand_env:
            words = []
            for word in shlex.split(env.get(name, "")):
                words += read_response_file(word[1:]) if word.startswith("@") else [word]
            env[name] = shlex.join(words)
        for name, words in extra:
            env[name] = " ".join(filter(None, [env.get(name, ""), shlex.join(words)]))
        argv = [a.replace(rename[0], rename[1]) for a in self.argv] if rename else self.argv
        return attrs.evolve(self, argv=argv, env=env, expand_env=())

    def render(self):
        words = [f"{k}={shlex.quote(v)}" for k, v in self.env] + [shlex.quote(a) for a in self.argv]
        line = " ".join(words)
        return f"(cd {shlex.quote(self.cwd)} && {line})" if self.cwd else line


@attrs.frozen
class Step:
    rule: str  # "StaticCLib", "GoCgoBinary"
    label: str  # the target's name as declared
    config: str  # configuration directory name
    what: str  # short description for the progress line
    out: str  # final path
    commands: tuple
    policy: Policy  # None: the output is a stamp (the step's signature), not an artifact to verify
    identities: tuple = ()  # toolchain versions
    passenv: tuple = ()  # (name, value) needed to run but not deciding the output (caches, proxies)
    report: bool = False  # write <out>.verify.json beside the artifact
    prechecks: tuple = ()  # (input path, Policy): inputs verified before any command runs
    executor: str = "native"  # which executor runs the commands (a container toolchain's name)
    members: tuple = ()  # when set, `out` is a directory and these files in it are verified and tracked
    quiet: bool = False  # long build logs: kept in <out>.log, shown (their end) only when the step fails
    verify_hint: str = None  # what to do when the output fails verification, if better than the generic hint
    shared_cache: bool = False  # a directory output the per-machine output cache may hold (path-free contents)
    verify_glob: str = None  # directory outputs: verify the files this matches instead of the members
    # Go's build cache keys a cgo compile on flag strings and the package's own files, never on headers
    # outside it: a digest of these inputs (and of the headers scanned from them) goes into this env var.
    digest_env: str = None
    digest_inputs: tuple = ()

    @property
    def tmp(self):
        return tmp_of(self.out)

    def signature(self, root=None):
        """A digest of everything that decides the artifact's bytes; with `root`, one that does not depend on
        where the project is checked out (for caches shared between checkouts)."""
        text = repr((self.rule, self.label, self.config, self.out, [attrs.astuple(c) for c in self.commands],
                     attrs.astuple(self.policy) if self.policy else None, self.identities,
                     self.prechecks, self.executor, self.members, self.verify_glob, self.digest_env))
        if root:
            text = text.replace(root, "<root>")
        return hashlib.sha256(text.encode()).hexdigest()
