"""`scons --run=NAME [--run-args='...']`: build one GoCgoBinary, then run it, for the host's platform when it is
built for it, else for the one platform selected (--platforms), through qemu-user when the host's kernel cannot
run it. The binary runs after its build and verification, with the terminal's stdin and stdout; its exit status
is the build's.
"""
import os
import shlex
import shutil
import subprocess
import sys

import SCons.Action
import SCons.Errors
import SCons.Script

from .configure.platform import Platform
from .errors import RuleError

ALIAS = "sconsrules-run"


def install(ctx, env):
    """Once per run, when --run is given: the alias the build is narrowed to, run after its dependency."""
    name = ctx.options.get("run")
    if not name or ctx.launch_alias is not None:
        return
    alias = env.Alias(ALIAS, [], SCons.Action.Action(_launch, None))[0]
    env.AlwaysBuild(alias)
    SCons.Script.BUILD_TARGETS.append(alias)
    ctx.launch_alias = alias


def declared(ctx, env, target):
    """A target was declared: when it is the GoCgoBinary --run names, pick its platform and make the run wait for
    its build."""
    if ctx.launch_alias is None or ctx.options.get("run") != target.name or target.kind != "GoCgoBinary":
        return
    built = {str(config.platform): (config, node) for config, node in ctx.registry.realizations(target)}
    host = Platform.host()
    if str(host) in built:
        chosen = built[str(host)]
    elif len(built) == 1:
        chosen = next(iter(built.values()))
    else:
        raise RuleError(f"--run={target.name}", None, f"it is built for {', '.join(built) or 'no platform'}",
                        "name the one to run with --platforms, e.g. --platforms=" + (next(iter(built), "linux/arm64")))
    ctx.launch = (target, chosen[0], chosen[1])
    env.Depends(ctx.launch_alias, chosen[1])


def _launch(target, source, env):
    from .context import Context
    ctx = Context.of(env)
    name = ctx.options.get("run")
    if ctx.launch is None:
        raise SCons.Errors.BuildError(errstr=f"sconsrules: --run={name}: no GoCgoBinary of that name is declared "
                                             "(hint: scons -h lists the targets)", exitstatus=2)
    rule, config, node = ctx.launch
    platform = config.platform
    argv = [node.abspath] + shlex.split(ctx.options.get("run_args") or "")
    how = "natively"
    if not platform.runs_natively_on(Platform.host()):
        qemu = shutil.which(platform.info.qemu)
        if qemu is None:
            raise SCons.Errors.BuildError(errstr=f"sconsrules: GoCgoBinary '{rule.name}': [{config}] running it on this "
                                                 f"{Platform.host()} machine needs {platform.info.qemu} (hint: install "
                                                 "qemu-user-static)", exitstatus=2)
        argv = [qemu] + argv
        how = f"under {platform.info.qemu}"
    print(f"sconsrules: run {os.path.relpath(node.abspath)} ({platform}, {how})", flush=True)
    code = subprocess.call(argv)
    if code != 0:
        # SCons ends the build with the status of an action's SystemExit (its ExplicitExit): the binary's own.
        sys.stderr.write(f"scons: *** sconsrules: GoCgoBinary '{rule.name}': [{config}] exited with status {code}\n")
        raise SystemExit(code if code > 0 else 128 - code)
    return 0
