"""Container images as build steps: a toolchain image built from a tracked Dockerfile, and the runtime image
(`FROM scratch` + the verified static binary) users otherwise write by hand as a last Dockerfile stage.

Each writes the image ID to a file under build/images/: SCons tracks that file like any artifact, so an image
is rebuilt when its Dockerfile, context or binary changes and not otherwise, and everything built in it
depends on its ID.
"""
import io
import json
import os
import re
import sys
import tarfile

import SCons.Action
import SCons.Builder
import SCons.Errors

from .errors import RuleError
from .execute.container import client_or_error
from .execute.run import TMP_MARK, run_tmp

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_LOG_TAIL = 30


def _write_id(path, image_id):
    tmp = run_tmp(path + TMP_MARK)
    with open(tmp, "w") as fh:
        fh.write(image_id + "\n")
    os.replace(tmp, path)


def _build(client, rule, label, **kwargs):
    import docker

    try:
        image, _ = client.images.build(rm=True, forcerm=True, pull=False, **kwargs)
        return image
    except docker.errors.BuildError as exc:
        # The log's last lines say why (a missing package, a compiler error); the message only repeats the
        # RUN line, so it is shortened to its exit code.
        lines = [line.rstrip() for entry in exc.build_log if entry.get("stream")
                 for line in str(entry["stream"]).splitlines() if line.strip()]
        sys.stdout.write("\n".join(lines[-BUILD_LOG_TAIL:]) + "\n")
        code = re.search(r"returned a non-zero code: (\d+)", exc.msg or "")
        cause = f"a RUN step failed (exit {code.group(1)})" if code else str(exc.msg)
        raise RuleError(rule, label, f"image build failed: {cause}",
                        f"the build's last {min(len(lines), BUILD_LOG_TAIL)} lines are shown above") from None
    except docker.errors.APIError as exc:
        raise RuleError(rule, label, f"image build failed: {exc.explanation or exc}",
                        "a base image must already be on this engine: nothing is pulled") from None


def _run(fn):
    def action(target, source, env):
        spec = target[0].attributes.sconsrules_image
        try:
            fn(target[0].abspath, spec)
        except RuleError as exc:
            raise SCons.Errors.BuildError(node=target[0], errstr=exc.line(), status=2, exitstatus=2) from None
        return 0

    return action


def _dockerfile_image(out, spec):
    client = client_or_error("ContainerToolchain", spec["label"])
    image = _build(client, "ContainerToolchain", spec["label"], path=spec["context"],
                   dockerfile=os.path.relpath(spec["dockerfile"], spec["context"]), tag=spec["tag"], network_mode="host")
    _write_id(out, image.id)


def _scratch_image(out, spec):
    client = client_or_error("ScratchImage", spec["tag"])
    dockerfile = ["FROM scratch", "COPY app /app"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(spec["binary"], arcname="app")
        if spec["ca_certs"]:
            tar.add(CA_BUNDLE, arcname="ca-certificates.crt")
            dockerfile += ["COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
                           "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
        dockerfile += [f"ENTRYPOINT {json.dumps(['/app'] + list(spec['args']))}"]
        data = ("\n".join(dockerfile) + "\n").encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    image = _build(client, "ScratchImage", spec["tag"], fileobj=buf, custom_context=True, tag=spec["tag"],
                   network_mode="none", platform=spec["platform"])
    _write_id(out, image.id)


def _show(target, source, env):
    spec = target[0].attributes.sconsrules_image
    return f"{spec['rule']} {spec.get('label', spec['tag'])}: build image"


IMAGE_SIG = "SCONSRULES_IMAGE_SIG"
DOCKERFILE_BUILDER = SCons.Builder.Builder(action=SCons.Action.Action(_run(_dockerfile_image), _show, varlist=[IMAGE_SIG]))
SCRATCH_BUILDER = SCons.Builder.Builder(action=SCons.Action.Action(_run(_scratch_image), _show, varlist=[IMAGE_SIG]))


def context_files(context):
    files = []
    for dirpath, dirnames, filenames in os.walk(context):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        files += [os.path.join(dirpath, f) for f in sorted(filenames)]
    return files


def image_node(env, builder, out, sources, spec):
    """A node whose file holds the image ID; `spec` decides the image together with the sources' contents."""
    nodes = builder(env, out, sources, **{IMAGE_SIG: json.dumps(spec, sort_keys=True)})
    nodes[0].attributes.sconsrules_image = spec
    return nodes[0]
