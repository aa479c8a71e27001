"""Runs Commands inside a long-lived builder container per toolchain and configuration, through the Docker SDK.

The source trees are mounted read-only and the output and cache directories read-write, all at their host
paths, so a Command means the same thing inside and outside. Actions run as the invoking uid:gid with no
network; only commands marked `network` (module downloads) run in a separate short-lived container that
has it.

Commands reach the builder through its command server (channel.py), not a `docker exec` each. A builder
outlives its run to serve the next one (starting a container costs about a second): it is labelled with a key
of everything that decides what a command sees in it (image ID, mounts, user, environment, hardening), found
by that key at the next run, and ends by itself when no run has touched it for $SCONSRULES_BUILDER_IDLE seconds
(600 by default; it is auto-removed).
A run that ends with commands still running in it (a failure elsewhere, Ctrl-C, SIGTERM) removes it, so no
straggler writes on; `scons -c` removes the project's idle builders. With SCONSRULES_BUILDER_IDLE=0 a builder
lives for one run, labelled with the run's pid: those left by a killed run are removed at the next start.
"""
import hashlib
import json
import os
import threading
import time

from ..actions import Call
from ..errors import RuleError
from . import channel, engine
from .channel import Channel, ChannelGone, pid_alive
from .native import run_call
from .slots import Slots
from .run import MARK, RUN_ID

LABEL = "sconsrules.builder"
REUSE = "sconsrules.reuse"  # the key of a builder that serves later runs
DEFAULT_IDLE = 600
MIN_IDLE = 4
READY_SECONDS = 20  # how long a new builder's server may take to answer
PIDS_LIMIT = 4096
# A build step gets no capability (no chown, no mknod, no bypassing file modes, also as root), cannot gain any
# (setuid binaries), cannot fork without bound, and writes nowhere but its mounts and a private /tmp.
HARDENING = dict(cap_drop=["ALL"], security_opt=["no-new-privileges"], pids_limit=PIDS_LIMIT, read_only=True,
                 tmpfs={"/tmp": "rw,exec,nosuid,nodev,mode=1777"})
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTAINER_CA_BUNDLE = "/etc/sconsrules-host-ca.crt"


def client_or_error(rule, target):
    """A connected Docker client, or a one-line error naming the engine that could not be reached."""
    try:
        import docker
    except ImportError:
        raise RuleError(rule, target, "the Docker SDK is not installed", "pip install docker") from None
    try:
        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as exc:  # the SDK raises several unrelated types for a missing or refused socket
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise RuleError(rule, target, f"cannot reach the Docker engine at {where}: {type(exc).__name__}",
                        "start dockerd (or set DOCKER_HOST) and check that this user may use its socket") from None


def idle_seconds(who):
    """How long a builder waits for the next run: $SCONSRULES_BUILDER_IDLE (0: one run only)."""
    text = os.environ.get("SCONSRULES_BUILDER_IDLE", "").strip()
    try:
        value = int(text) if text else DEFAULT_IDLE
    except ValueError:
        value = -1
    if value != 0 and not MIN_IDLE <= value <= 86400:
        raise RuleError(*who, f"SCONSRULES_BUILDER_IDLE={text!r} must be 0 or a number of seconds from "
                              f"{MIN_IDLE} to 86400", "0 gives every run its own builder")
    return value


def remove_stale(client):
    """Remove builder containers whose scons process (on this host) is gone; builders kept for later runs end
    by themselves."""
    host = os.uname().nodename
    for container in _listed(client, {"label": LABEL}):
        labels = container.attrs.get("Labels") or {}
        if REUSE in labels:
            continue
        pid = int(labels.get("sconsrules.pid", "0") or 0)
        if labels.get("sconsrules.host") == host and (not pid or not pid_alive(pid)):
            _remove_container(container)


def project_label(root):
    """The `sconsrules.project` label of a project's kept builders: `scons -c` removes only its own."""
    return hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:16]


def remove_idle_builders(roots):
    """`scons -c`: remove the builders this machine keeps for later runs of the projects at `roots` (no engine,
    nothing to remove)."""
    try:
        import docker
        client = docker.from_env(timeout=60)
        host, projects = os.uname().nodename, {project_label(r) for r in roots}
        for container in _listed(client, {"label": REUSE}):
            labels = container.attrs.get("Labels") or {}
            if labels.get("sconsrules.host") == host and labels.get("sconsrules.project") in projects:
                _remove_container(container)
    except Exception:
        pass


def _listed(client, filters):
    """Containers by filter, without inspecting each (one may vanish between the list and an inspect)."""
    return client.containers.list(all=True, filters=filters, sparse=True)


def _remove_container(container):
    import docker

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass


class ContainerExecutor:
    """Executes Commands for one ContainerToolchain; created lazily on the first action of a run."""

    def __init__(self, toolchain, mounts, rule, target, project=None, slots=None):
        self.toolchain = toolchain
        self.slots = slots or Slots(1)  # the run's job slots (native.NativeExecutor)
        self.project = project  # the project's root: kept builders are labelled with it
        self.name = f"container {toolchain.display}"
        self.mounts = mounts  # (host path, read_only)
        self.who = (rule, target)  # blamed when a caller does not say who it runs for
        self._lock = threading.Lock()
        self._client = None
        self._container = None  # the SDK's handle of a builder this run started
        self._adopted = None  # the ID of a kept builder this run adopted
        self._channel = None
        self._image = None
        self._idle = None  # seconds a kept builder waits; 0: this run's own builder
        self._running = 0  # commands in flight in the builder
        self._closed = threading.Event()

    def _labels(self):
        return {LABEL: self.toolchain.name, "sconsrules.pid": str(os.getpid()), "sconsrules.host": os.uname().nodename}

    def _reuse_key(self, volumes):
        """What decides what a command sees in the builder: two runs that agree on it may share one."""
        facts = [self._image, volumes, f"{os.getuid()}:{os.getgid()}", self.toolchain.container_env(), HARDENING,
                 self._idle, channel.PROTOCOL]
        return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def _volumes(self):
        volumes = {}
        for path, read_only in sorted(self.mounts):
            if read_only and not os.path.isdir(path):
                continue  # a source directory that does not exist (yet): never created on the user's behalf
            os.makedirs(path, exist_ok=True)
            volumes[path] = {"bind": path, "mode": "ro" if read_only else "rw"}
        return volumes

    def _error(self, who, cause, hint=None):
        return RuleError(*who, f"[{self.toolchain.display}] {cause}", hint)

    def _sdk(self, who):
        """The Docker SDK's client, made on first need: adopting a kept builder and running commands in it
        need none."""
        if self._client is None:
            self._client = client_or_error(*who)
        return self._client

    def _builder(self, who):
        """The SDK's handle of the builder: the one this run started, or the kept one it adopted by ID."""
        return self._container or self._sdk(who).containers.get(self._adopted)

    def _start(self, who):
        import docker

        self._idle = idle_seconds(who)
        self._image = self.toolchain.image_id()
        volumes = self._volumes()
        root = self.toolchain.cache_dir  # a read-write mount: the builders' directories are below it
        labels, key = self._labels(), None
        if self._idle:
            key = self._reuse_key(volumes)
            self._channel = Channel(root, key)
            if self._adopt(key, who):
                return
            labels = {LABEL: self.toolchain.name, REUSE: key, "sconsrules.host": os.uname().nodename}
            if self.project:
                labels["sconsrules.project"] = project_label(self.project)
        else:
            self._channel = Channel(root, f"run-{os.getpid()}-{id(self)}")
        client = self._sdk(who)
        remove_stale(client)
        self._channel.prepare()
        command = ["sh", "-c", channel.SERVER, self._channel.directory, str(self._idle)]
        try:
            self._container = client.containers.run(
                self._image, command, detach=True, network_mode="none", labels=labels,
                volumes=volumes, user=f"{os.getuid()}:{os.getgid()}", environment=self.toolchain.container_env(),
                init=True, auto_remove=bool(key), **HARDENING)
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "mount" in text or "bind source path" in text:
                raise self._error(who, f"cannot mount the source or output directories: {text}",
                                  "the engine must see this machine's paths (a local dockerd, not a remote one)") from None
            if "executable file not found" in text:
                raise self._error(who, "the image has no `sh`, which runs the builder's command server",
                                  "use an image with a POSIX shell (busybox is enough)") from None
            raise self._error(who, f"cannot start the builder container: {text}") from None
        self._await_server(who)
        if key:
            self._keep_alive()

    def _await_server(self, who):
        """A new builder's server answers within moments; one that exited says why in its log."""
        import docker

        deadline = time.monotonic() + READY_SECONDS
        while not self._channel.answers():
            try:
                self._container.reload()
                status = self._container.status
            except docker.errors.NotFound:  # exited, and auto-removed
                status = "removed"
            if status not in ("created", "running") or time.monotonic() > deadline:
                try:
                    log = self._container.logs(tail=5).decode(errors="replace").strip().replace("\n", "; ")
                except docker.errors.APIError:
                    log = ""
                raise self._error(who, f"the builder container's command server did not start: {log or 'no output'}",
                                  "the image needs a POSIX shell with sleep, rm and touch (busybox is enough)")
            time.sleep(0.01)

    def _adopt(self, key, who):
        """Use a running builder an earlier run kept under `key`, if its server answers (asked without the
        SDK when the engine is local)."""
        try:
            found = engine.running_containers(f"{REUSE}={key}")
        except engine.Unreachable:
            filters = {"label": f"{REUSE}={key}", "status": "running"}
            found = [c.id for c in self._sdk(who).containers.list(filters=filters)]
        for container in found:
            if not self._channel.attach() or not self._channel.answers():
                continue  # ending by itself, or being removed
            self._adopted = container
            self._channel.touch()
            self._channel.sweep()
            self._keep_alive()
            return True
        return False

    def _keep_alive(self):
        """Touch the kept builder while this run lasts: one command may outlast the idle period."""
        every = max(1, min(60, self._idle // 4))  # several touches per idle period

        def loop():
            while not self._closed.wait(every):
                try:
                    self._channel.touch()
                except OSError:
                    return
        threading.Thread(target=loop, name="sconsrules-builder-alive", daemon=True).start()

    def close(self):
        """Remove every container this process made (by label: also one whose creation a signal interrupted);
        a kept builder stays for the next run, unless commands still run in it."""
        self._closed.set()
        try:
            if self._idle and self._running and (self._container is not None or self._adopted):
                _remove_container(self._builder(self.who))
            if self._client is not None:  # what this run started, also a creation a signal interrupted
                for container in _listed(self._client, {"label": [LABEL, f"sconsrules.pid={os.getpid()}"]}):
                    _remove_container(container)
        except Exception:
            pass  # the engine went away; the next run's stale sweep removes what is left
        if self._channel is not None:
            if not self._idle:
                self._channel.remove()
            self._channel.close()
        self._container = None

    def run(self, command, passenv, who=None):
        """Run `command` for `who` (rule, target): the one named in any error, whoever started the container."""
        who = who or self.who
        if isinstance(command, Call):
            return run_call(command, self, passenv, who)
        with self._lock:
            if self._channel is None:
                self._start(who)
        env = dict(passenv)
        env.update(command.env)
        env[MARK] = RUN_ID
        if command.network:
            return self._run_with_network(command, env, who)
        text = channel.script(list(command.argv), env, command.cwd)
        with self._lock:
            self._running += 1
        try:
            if text is None:  # a variable sh cannot export: the engine's exec sets it
                code, output = self._builder(who).exec_run(list(command.argv), environment=env, workdir=command.cwd,
                                                           user=f"{os.getuid()}:{os.getgid()}", demux=False)
            else:
                code, output = self._channel.run(text)
        except ChannelGone:
            raise self._error(who, "the builder container ended while this command ran in it",
                              "run the build again (a new builder starts)") from None
        finally:
            with self._lock:
                self._running -= 1
        return self._checked(command, code, output.decode(errors="replace") if output else "", who)

    def _run_with_network(self, command, env, who):
        """The one kind of command allowed the network: a short-lived container, removed right after.

        It reaches the network the way this machine does: its proxy settings and its CA bundle (a proxy that
        inspects TLS signs with a CA the image does not know).
        """
        import docker

        volumes = self._volumes()
        env = {**self.toolchain.container_env(), **{k: os.environ[k] for k in PROXY_VARS if k in os.environ}, **env}
        bundle = os.environ.get("SSL_CERT_FILE") or HOST_CA_BUNDLE
        if os.path.isfile(bundle):
            volumes[os.path.realpath(bundle)] = {"bind": CONTAINER_CA_BUNDLE, "mode": "ro"}
            env["SSL_CERT_FILE"] = CONTAINER_CA_BUNDLE
        container = self._sdk(who).containers.create(
            self._image, list(command.argv), network_mode="host", labels=self._labels(), volumes=volumes,
            user=f"{os.getuid()}:{os.getgid()}", environment=env, working_dir=command.cwd, **HARDENING)
        try:
            try:
                container.start()
            except docker.errors.APIError as exc:
                return self._checked(command, 127, str(exc.explanation or exc), who)
            code = container.wait()["StatusCode"]
            output = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
        return self._checked(command, code, output, who)

    def _checked(self, command, code, output, who):
        if code in (126, 127) and ("executable file not found" in output or "no such file or directory" in output):
            raise self._error(who, f"`{command.argv[0]}` is not in image {self.toolchain.display}",
                              "install it in the image, or name the right command with cc=/cxx=/ar=/go=")
        return code, output
