"""Building container images through the Docker SDK: the work of the image steps (Calls the native executor
runs). Each writes the image ID to its output file; nothing is ever pulled."""
import io
import json
import os
import re
import sys

from ..errors import RuleError
from .container import client_or_error

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_LOG_TAIL = 30


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


def _write_id(out, image):
    with open(out, "w") as fh:
        fh.write(image.id + "\n")


def dockerfile_image(label, tag, dockerfile, context, out):
    """A toolchain image from a Dockerfile (its RUN steps may use the network, as `docker build` does)."""
    client = client_or_error("ContainerToolchain", label)
    _write_id(out, _build(client, "ContainerToolchain", label, path=context,
                          dockerfile=os.path.relpath(dockerfile, context), tag=tag, network_mode="host"))


def scratch_image(tag, binary, ca_certs, args, platform, out):
    """`FROM scratch` + the verified binary (+ CA certificates), built from a context made in memory."""
    client = client_or_error("ScratchImage", tag)
    import tarfile
    dockerfile = ["FROM scratch", "COPY app /app"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(binary, arcname="app")
        if ca_certs:
            tar.add(CA_BUNDLE, arcname="ca-certificates.crt")
            dockerfile += ["COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
                           "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
        dockerfile += [f"ENTRYPOINT {json.dumps(['/app'] + list(args))}"]
        data = ("\n".join(dockerfile) + "\n").encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    _write_id(out, _build(client, "ScratchImage", tag, fileobj=buf, custom_context=True, tag=tag,
                          network_mode="none", platform=platform))
