"""The step runner on its own: inputs checked before linking, outputs verified before their final name."""
import os
import sys

import pytest

from sconsrules.actions import Command, Step
from sconsrules.errors import RuleError
from sconsrules.execute import NativeExecutor, perform
from sconsrules.platform import Platform
from sconsrules.verify import Policy

AMD64 = Platform.parse("linux/amd64")


def copy_step(src, out, prechecks=()):
    return Step("GoCgoBinary", "app", "linux-amd64-musl-zig", "link", out,
                (Command([sys.executable, "-c", f"import shutil; shutil.copy({src!r}, {out + '.sconsrules-tmp'!r})"]),),
                Policy(AMD64), prechecks=prechecks)


def test_glibc_built_archive_is_refused_before_linking(corpus, tmp_path):
    out = str(tmp_path / "app")
    step = copy_step(os.path.join(corpus, "musl-static"), out,
                     prechecks=((os.path.join(corpus, "libglibc.a"), Policy(AMD64)),))
    with pytest.raises(RuleError) as err:
        perform(step, NativeExecutor())
    message = err.value.line()
    assert "verify failed for input libglibc.a: archive.glibc-refs" in message and "__snprintf_chk" in message
    assert not os.path.exists(out)


def test_good_output_takes_its_name_and_bad_output_leaves_nothing(corpus, tmp_path):
    out = str(tmp_path / "app")
    perform(copy_step(os.path.join(corpus, "musl-static"), out), NativeExecutor())
    assert os.path.exists(out)
    with pytest.raises(RuleError, match=r"verify failed: .*link\.interp"):
        perform(copy_step(os.path.join(corpus, "glibc-dynamic"), out), NativeExecutor())
    assert not os.path.exists(out) and not os.path.exists(out + ".sconsrules-tmp")
    with pytest.raises(RuleError, match="verify: .*neither an ELF file nor an ar archive"):
        perform(copy_step(os.path.join(corpus, "random"), out), NativeExecutor())
    assert not os.path.exists(out) and not os.path.exists(out + ".sconsrules-tmp")
