"""The base of every rule: what each one needs from the run, written once.

A rule is an attrs class of attributes (checked when the SConscript calls it) and a Rule subclass that says
what it declares: `analyze()` (read-time checks: files, deps) and `realize(config)` (the Steps of one
configuration, returning the provider dependents see). The base owns the plumbing: naming errors after the
rule and target, claiming the name, looking up and realizing deps, relaxations, the executor, the Step's
toolchain fields, the nodes, and what the SConscript call returns.
"""
from typing import Any, ClassVar, Iterable, List, Optional, Sequence, Tuple

import SCons.Node

from ..actions import Outputs, Step, Verification
from ..configure.config import Configuration, selected_platforms, toolchain_name
from ..errors import RuleError
from ..verify import Policy
from .attributes import build, check_name, fill_placeholders


class Rule:
    kind: ClassVar[str]  # "StaticCLib": how errors and progress lines name the rule
    Attributes: ClassVar[type]  # the attrs class of its attributes
    library: ClassVar[bool] = False  # can be a dep (found by name); the call returns its archives
    unique_name: ClassVar[bool] = True  # the name is claimed in its SConscript directory
    positional: ClassVar[Tuple[str, ...]] = ()  # attributes that may be given by position after the name

    def __init__(self, ctx, env, attributes) -> None:
        self.ctx = ctx
        self.env = env
        self.attrs = attributes
        self.name: str = attributes.name
        self.srcdir = env.Dir(".")
        self.analyze()

    @classmethod
    def check_name(cls, name) -> None:
        check_name(cls.kind, name)

    @classmethod
    def declare(cls, ctx, env, name, args: Sequence, kwargs: dict, where: str) -> "Rule":
        """The rule for one SConscript call, checked and registered."""
        cls.check_name(name)
        if len(args) > len(cls.positional):
            raise RuleError(cls.kind, name, f"takes the name and at most {len(cls.positional)} more values by "
                            f"position ({', '.join(cls.positional) or 'none'}), got {len(args)}",
                            "give the other attributes by keyword")
        kwargs = dict(zip(cls.positional, args), **kwargs)
        attributes = build(cls.Attributes, cls.kind, name, kwargs)
        if cls.unique_name:
            ctx.registry.claim(env.Dir(".").abspath, name, cls.kind, where)
        rule = cls(ctx, env, attributes)
        if cls.library:
            ctx.registry.add(rule)
        return rule

    # -- what a subclass says ------------------------------------------------------------------------------

    def analyze(self) -> None:
        """Read-time checks and resolution that do not depend on a configuration."""

    def realize(self, config: Configuration) -> Any:
        """The Steps of `config`; returns the provider (CcInfo) or the node dependents see."""
        raise NotImplementedError

    def returned(self):
        """What the SConscript call returns: a library's archives for the default platforms."""
        platforms, _ = selected_platforms(self.env, self.ctx.options, self.kind, self.name)
        nodes = []
        for config in self.configurations(platforms, toolchain_name(self.env, self.ctx.options, None)):
            info = self.ctx.registry.realize(self, config)
            nodes += [a for a in info.archives if getattr(a.attributes, "sconsrules_target", None) is self]
        self.env.Alias(self.name, nodes)
        return SCons.Node.NodeList(nodes)

    # -- plumbing every rule shares ------------------------------------------------------------------------

    def error(self, cause: str, hint: Optional[str] = None) -> RuleError:
        return RuleError(self.kind, self.name, cause, hint)

    def configurations(self, platforms, toolchain) -> List[Configuration]:
        return self.ctx.configurations(self.env, self.kind, self.name, platforms, toolchain)

    def lookup(self, refs: Iterable, attribute: str) -> tuple:
        """deps given as rule return values or names, resolved to their rules."""
        return tuple(self.ctx.registry.lookup(r, self.kind, self.name, attribute) for r in refs)

    def providers(self, deps: Iterable["Rule"], config: Configuration) -> list:
        return [self.ctx.registry.realize(d, config) for d in deps]

    def fill(self, values, platform, attribute: str) -> list:
        """`values` with the platform's placeholders ({goarch}, {cpu}, ...) filled in."""
        return fill_placeholders(values, platform, self.kind, self.name, attribute)

    def outdir(self, config: Configuration) -> str:
        return self.ctx.outdir(self.env, config, self.srcdir)

    def policy(self, platform, **checks) -> Policy:
        """The verifier's policy for `platform`, with the environment's and this target's relaxations."""
        relax = self.ctx.relaxations(self.env, getattr(self.attrs, "verify", ()) or (), self.kind, self.name)
        return Policy(platform, relax=relax, **checks)

    def step(self, config: Optional[Configuration], what: str, commands, outputs: Outputs,
             verification: Optional[Verification] = None, identities: Optional[tuple] = None,
             passenv: Optional[dict] = None, mounts: Sequence[str] = (), label: Optional[str] = None,
             **fields) -> Step:
        """A Step of this target in `config` (None: a step that runs on this machine, in no configuration);
        the toolchain's identity and environment unless given; `label` names it when it is not this target's
        own (a module download shared by the module's binaries)."""
        default_ids: Tuple[str, ...] = ()
        default_env: dict = {}
        if config is None:
            dirname, executor = "", "native"
        else:
            tc = config.toolchain
            dirname, default_ids, default_env = config.dirname, (config.toolchain_identity,), tc.env(config.platform)
            executor = self.ctx.executor_for(self.env, config, (self.kind, self.name), mounts)
        env = default_env if passenv is None else passenv
        return Step(self.kind, label or self.name, dirname, what, tuple(commands), outputs, verification or Verification(),
                    default_ids if identities is None else tuple(identities), tuple(sorted(env.items())),
                    executor=executor, **fields)

    def nodes(self, step: Step, sources, config: Optional[Configuration] = None, scan_paths=None,
              provides: bool = False, export=None) -> list:
        """The SCons nodes of `step`; `provides` marks them as this target's (what deps= may name). Every node
        knows the rule that made it, so that naming the wrong kind of node in deps= can say what it is."""
        toolchain = config.toolchain if config is not None else None
        nodes = self.ctx.step_nodes(self.env, step, list(sources), scan_paths, toolchain, export)
        for node in nodes:
            node.attributes.sconsrules_made_by = self
            if provides:
                node.attributes.sconsrules_target = self
        return nodes
