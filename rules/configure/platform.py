"""Target platforms: parsing "linux/arm64[/musl]" (and "linux/arm/v7") and the per-architecture facts every
layer needs.

One table keeps GOARCH, the zig triple, the ELF identity and the qemu runner together so that no other
module has to know architecture names.
"""
import platform as _host

import attrs


@attrs.frozen
class Arch:
    goarch: str
    zig_cpu: str
    elf_machine: str  # pyelftools' e_machine name
    elf_class: int
    little_endian: bool
    qemu: str  # qemu-user binary that runs it on another host
    uname: tuple  # values of platform.machine() on a host of this arch
    go_env: tuple  # the baseline ISA level, pinned so a user's GOAMD64/GOARM64 cannot change the bytes
    openssl_target: str  # OpenSSL's Configure target ({openssl_target})
    zig_abi: str = "musl"  # the libc part of zig's triple (32-bit ARM: hard-float EABI)
    variant: str = ""  # the platform string's variant ("linux/arm/v7"), as OCI platforms write it
    runs_on: tuple = ()  # host architectures that run it natively (x86-64 kernels run i386 code)


ARCHES = {
    "amd64": Arch("amd64", "x86_64", "EM_X86_64", 64, True, "qemu-x86_64-static", ("x86_64", "amd64"),
                  (("GOAMD64", "v1"),), "linux-x86_64"),
    "arm64": Arch("arm64", "aarch64", "EM_AARCH64", 64, True, "qemu-aarch64-static", ("aarch64", "arm64"),
                  (("GOARM64", "v8.0"),), "linux-aarch64"),
    "arm": Arch("arm", "arm", "EM_ARM", 32, True, "qemu-arm-static", ("armv7l", "armv7", "arm"), (("GOARM", "7"),),
                "linux-armv4", zig_abi="musleabihf", variant="v7"),
    "386": Arch("386", "x86", "EM_386", 32, True, "qemu-i386-static", ("i386", "i686", "x86"), (("GO386", "sse2"),),
                "linux-x86", runs_on=("amd64",)),
    "riscv64": Arch("riscv64", "riscv64", "EM_RISCV", 64, True, "qemu-riscv64-static", ("riscv64",),
                    (("GORISCV64", "rva20u64"),), "linux64-riscv64"),
    "ppc64le": Arch("ppc64le", "powerpc64le", "EM_PPC64", 64, True, "qemu-ppc64le-static", ("ppc64le",),
                    (("GOPPC64", "power8"),), "linux-ppc64le"),
    "s390x": Arch("s390x", "s390x", "EM_S390", 64, False, "qemu-s390x-static", ("s390x",), (), "linux64-s390x"),
}
OSES = ("linux",)
LIBCS = ("musl",)


def _check_os(inst, attribute, value):
    if value not in OSES:
        raise ValueError(f"unsupported os {value!r} (supported: {', '.join(OSES)})")


def _check_arch(inst, attribute, value):
    if value not in ARCHES:
        raise ValueError(f"unsupported architecture {value!r} (supported: {', '.join(ARCHES)})")


def _check_libc(inst, attribute, value):
    if value not in LIBCS:
        raise ValueError(f"unsupported libc {value!r} (supported: {', '.join(LIBCS)})")


@attrs.frozen(order=True)
class Platform:
    os: str = attrs.field(validator=_check_os)
    arch: str = attrs.field(validator=_check_arch)
    libc: str = attrs.field(default="musl", validator=_check_libc)

    @classmethod
    def parse(cls, text):
        """Accept "linux/amd64" and "linux/arm64/musl"; raise ValueError with the reason otherwise."""
        if isinstance(text, Platform):
            return text
        if not isinstance(text, str):
            raise ValueError(f"a platform is a string like 'linux/arm64', not {type(text).__name__}")
        parts = text.strip().split("/")
        if len(parts) >= 2 and parts[1] in ARCHES:
            variant = ARCHES[parts[1]].variant
            if variant and len(parts) >= 3 and parts[2] == variant:
                del parts[2]  # "linux/arm/v7": the one variant supported is the arch's own
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not of the form os/arch[/libc], e.g. 'linux/arm64'")
        return cls(*parts)

    @classmethod
    def host(cls):
        machine = _host.machine().lower()
        for name, arch in ARCHES.items():
            if machine in arch.uname:
                return cls("linux", name)
        raise ValueError(f"host architecture {machine!r} is not supported")

    @property
    def info(self):
        return ARCHES[self.arch]

    @property
    def zig_target(self):
        abi = self.info.zig_abi if self.libc == "musl" else self.libc
        return f"{self.info.zig_cpu}-{self.os}-{abi}"

    @property
    def dirname(self):
        return f"{self.os}-{self.arch}-{self.libc}"

    def placeholders(self):
        """What attributes that depend on the platform may say: {goarch}, {cpu}, {triple}, {openssl_target}."""
        info = self.info
        return {"cpu": info.zig_cpu, "goarch": info.goarch, "triple": self.zig_target,
                "openssl_target": info.openssl_target}

    @classmethod
    def from_elf(cls, machine, elf_class, little_endian):
        """The platform an ELF file's identity names, or None when no supported one has it."""
        for name, arch in ARCHES.items():
            if (arch.elf_machine, arch.elf_class, arch.little_endian) == (machine, elf_class, little_endian):
                return cls("linux", name)
        return None

    def is_host(self):
        try:
            return self == Platform.host()
        except ValueError:
            return False

    def runs_natively_on(self, host):
        """Whether `host` runs this platform's binaries without an emulator."""
        return self == host or host.arch in self.info.runs_on

    def __str__(self):
        variant = f"/{self.info.variant}" if self.info.variant else ""
        return f"{self.os}/{self.arch}{variant}"


SUPPORTED = tuple(str(Platform("linux", arch)) for arch in ARCHES)  # what error hints list
