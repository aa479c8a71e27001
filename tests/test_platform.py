import attrs
import pytest

from sconsrules.configure.platform import Platform


def test_parse_with_and_without_libc():
    assert Platform.parse("linux/arm64") == Platform.parse("linux/arm64/musl") == Platform("linux", "arm64", "musl")


def test_tables():
    arm = Platform.parse("linux/arm64")
    assert arm.zig_target == "aarch64-linux-musl"
    assert arm.info.goarch == "arm64" and arm.info.elf_machine == "EM_AARCH64"
    assert Platform.parse("linux/amd64").zig_target == "x86_64-linux-musl"
    assert arm.dirname == "linux-arm64-musl"
    assert str(arm) == "linux/arm64"


@pytest.mark.parametrize("text, reason", [
    ("linux", "os/arch"),
    ("linux/arm64/glibc", "unsupported libc"),
    ("linux/riscv64", "unsupported architecture"),
    ("windows/amd64", "unsupported os"),
    ("linux//musl", "os/arch"),
    (42, "a platform is a string"),
])
def test_bad_platforms_say_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        Platform.parse(text)


def test_host_is_amd64_or_arm64():
    assert Platform.host().arch in ("amd64", "arm64")
    assert Platform.host().is_host()


def test_frozen():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Platform.parse("linux/amd64").arch = "arm64"
