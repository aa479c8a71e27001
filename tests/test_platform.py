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
    ("linux/mips64le", "unsupported architecture"),
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


def test_seven_platforms_parse_and_name_their_toolchain_targets():
    expected = {"linux/arm/v7": ("arm-linux-musleabihf", "arm", "EM_ARM", 32, True),
                "linux/386": ("x86-linux-musl", "386", "EM_386", 32, True),
                "linux/riscv64": ("riscv64-linux-musl", "riscv64", "EM_RISCV", 64, True),
                "linux/ppc64le": ("powerpc64le-linux-musl", "ppc64le", "EM_PPC64", 64, True),
                "linux/s390x": ("s390x-linux-musl", "s390x", "EM_S390", 64, False)}
    for text, (triple, goarch, machine, bits, little) in expected.items():
        p = Platform.parse(text)
        assert str(p) == text and Platform.parse(str(p)) == p
        assert (p.zig_target, p.info.goarch, p.info.elf_machine, p.info.elf_class, p.info.little_endian) == \
            (triple, goarch, machine, bits, little)
    assert Platform.parse("linux/arm") == Platform.parse("linux/arm/v7") == Platform.parse("linux/arm/v7/musl")
    assert Platform.parse("linux/arm/v7").placeholders()["openssl_target"] == "linux-armv4"
    assert Platform.parse("linux/386").runs_natively_on(Platform.parse("linux/amd64"))
    assert not Platform.parse("linux/arm64").runs_natively_on(Platform.parse("linux/amd64"))
