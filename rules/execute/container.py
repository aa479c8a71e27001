"""Runs Commands inside one long-lived builder container per toolchain and scons run, through the Docker SDK.

The source trees are mounted read-only and the output and cache directories read-write, all at their host
paths, so a Command means the same thing inside and outside. Actions run as the invoking uid:gid with no
network; only commands marked `network` (module downloads) run in a separate short-lived container that
has it. Every container carries labels: those left by a killed run are removed at the next start, and this
run's are removed at exit (the run's Context closes its executors), also after a failure, Ctrl-C or SIGTERM.
"""
import os
import threading

from ..actions import Call
from ..errors import RuleError
from .native import run_call
from .run import MARK, RUN_ID

LABEL = "sconsrules.builder"
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


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_stale(client):
    """Remove builder containers whose scons process (on this host) is gone."""
    host = os.uname().nodename
    for container in _listed(client, {"label": LABEL}):
        labels = container.attrs.get("Labels") or {}
        pid = int(labels.get("sconsrules.pid", "0") or 0)
        if labels.get("sconsrules.host") == host and (not pid or not _pid_alive(pid)):
            _remove_container(container)


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

    def __init__(self, toolchain, mounts, rule, target):
        self.toolchain = toolchain
        self.name = f"container {toolchain.display}"
        self.mounts = mounts  # (host path, read_only)
        self.who = (rule, target)  # blamed when a caller does not say who it runs for
        self._lock = threading.Lock()
        self._client = None
        self._container = None
        self._image = None

    def _labels(self):
        return {LABEL: self.toolchain.name, "sconsrules.pid": str(os.getpid()), "sconsrules.host": os.uname().nodename}

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

    def _start(self, who):
        import docker

        self._client = client_or_error(*who)
        remove_stale(self._client)
        self._image = self.toolchain.image_id(self._client, *who)
        try:
            self._container = self._client.containers.run(
                self._image, ["sleep", "infinity"], detach=True, network_mode="none", labels=self._labels(),
                volumes=self._volumes(), user=f"{os.getuid()}:{os.getgid()}", environment=self.toolchain.container_env(),
                init=True, auto_remove=False, **HARDENING)
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "mount" in text or "bind source path" in text:
                raise self._error(who, f"cannot mount the source or output directories: {text}",
                                  "the engine must see this machine's paths (a local dockerd, not a remote one)") from None
            if "executable file not found" in text:
                raise self._error(who, "the image has no `sleep` to keep the builder container alive",
                                  "use an image with coreutils or busybox") from None
            raise self._error(who, f"cannot start the builder container: {text}") from None

    def close(self):
        """Remove every container this process made (by label: also one whose creation a signal interrupted)."""
        if self._client is None:
            return
        try:
            for container in _listed(self._client, {"label": [LABEL, f"sconsrules.pid={os.getpid()}"]}):
                _remove_container(container)
        except Exception:
            pass  # the engine went away; the next run's stale sweep removes what is left
        self._container = None

    def run(self, command, passenv, who=None):
        """Run `command` for `who` (rule, target): the one named in any error, whoever started the container."""
        who = who or self.who
        if isinstance(command, Call):
            return run_call(command, self, passenv, who)
        with self._lock:
            if self._container is None:
                self._start(who)
        env = dict(passenv)
        env.update(command.env)
        env[MARK] = RUN_ID
        if command.network:
            return self._run_with_network(command, env, who)
        code, output = self._container.exec_run(list(command.argv), environment=env, workdir=command.cwd,
                                                user=f"{os.getuid()}:{os.getgid()}", demux=False)
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
        container = self._client.containers.create(
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
