"""Regenerate rules/verify/glibc_only.json: symbols glibc exports and musl's static libc does not, per architecture.

    python docs/gen_glibc_only.py --glibc amd64=/lib/x86_64-linux-gnu \\
        --glibc arm64=DIR/usr/aarch64-linux-gnu/lib     # Debian's libc6-arm64-cross, unpacked with dpkg-deb -x

glibc's exports are the defined dynamic symbols of its libraries (libc, libm, libpthread, libdl, librt, libutil,
libresolv, libanl), compat versions included. musl's are the symbol list zig ships for musl (lib/libc/musl/libc.S,
run through the C preprocessor for the architecture) together with the defined global symbols of the libc.a zig
builds for the target with the archives linked beside it (libzigc, compiler_rt: the libc zig-built binaries link). An undefined reference to one of the remaining
names in an object means it was compiled against glibc's headers.

Only names nobody else defines are kept, so a project's own function is never mistaken for glibc's: reserved
names (a leading underscore), glibc's `*64` large-file aliases of functions musl has, `gnu_get_libc_*` and the
ucontext family (which musl lacks; libucontext users relax `archive.glibc-refs` with a reason), and the stat
wrappers only glibc's headers call (musl has them for binary compatibility, but no musl header emits them).
"""
import argparse
import json
import os
import subprocess
import tempfile

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

GLIBC_LIBS = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
              "libresolv.so.2", "libanl.so.1")
UCONTEXT = ("getcontext", "setcontext", "makecontext", "swapcontext")
# Names only glibc's headers emit (its stat wrappers before 2.33), which musl carries for binary compatibility
# only: a reference to one means glibc's headers even where musl would link it.
GLIBC_HEADER_ONLY = ("__xstat", "__fxstat", "__lxstat", "__fxstatat", "__xstat64", "__fxstat64", "__lxstat64",
                     "__fxstatat64", "__xmknod", "__xmknodat")
ZIG_TARGETS = {"amd64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}
LIBC_S_DEFINES = {"amd64": ["-DPTR64", "-DARCH_x86_64", "-DFAMILY_x86"],
                  "arm64": ["-DPTR64", "-DARCH_aarch64", "-DFAMILY_aarch64"]}


def defined(path, section):
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        table = elf.get_section_by_name(section)
        if not isinstance(table, SymbolTableSection):
            return set()
        return {s.name for s in table.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"
                and s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")}


def glibc_exports(libdir):
    names = set()
    for lib in GLIBC_LIBS:
        names |= {n.split("@")[0] for n in defined(os.path.join(libdir, lib), ".dynsym")}
    return names


def musl_exports(arch):
    """musl's exported symbols for `arch`: its symbol list as zig ships it, and the libc.a zig builds."""
    import ziglang
    libc_s = os.path.join(os.path.dirname(ziglang.__file__), "lib", "libc", "musl", "libc.S")
    text = subprocess.run(["gcc", "-E", "-P", *LIBC_S_DEFINES[arch], "-x", "assembler-with-cpp", libc_s],
                          capture_output=True, text=True, check=True).stdout
    names = {line.split()[1] for line in text.splitlines() if line.startswith((".globl ", ".weak "))}
    return names | _static_exports(ZIG_TARGETS[arch])


def _static_exports(target):
    """Link a program statically with zig for `target`, then read the libc.a zig built (kept in its cache)."""
    from sconsrules.configure.toolchains.zig import ZigToolchain
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "a.c")
        with open(src, "w") as fh:
            fh.write("int main(void) { return 0; }\n")
        out = subprocess.run([ZigToolchain().exe, "cc", "-target", target, "-static", "-v", src, "-o",
                              os.path.join(tmp, "a")], capture_output=True, text=True, check=True)
    archives = [w for w in (out.stdout + out.stderr).split() if w.endswith(".a")]  # libc, libzigc, compiler_rt
    if not any(a.endswith("/libc.a") for a in archives):
        raise SystemExit(f"zig -v named no libc.a for {target}")
    names = set()
    for archive in archives:
        names |= _archive_defined(archive, target)
    return names


def _archive_defined(path, target):
    from sconsrules.verify.archive import read_archive
    import io
    names, machine = set(), {"x86_64-linux-musl": "EM_X86_64", "aarch64-linux-musl": "EM_AARCH64"}[target]
    with open(path, "rb") as fh:
        members = read_archive(fh.read())
    for member in members:
        elf = ELFFile(io.BytesIO(member.data))
        if elf.header["e_machine"] != machine:
            return set()
        table = elf.get_section_by_name(".symtab")
        if isinstance(table, SymbolTableSection):
            names |= {s.name for s in table.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"
                      and s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")}
    return names


def kept(name, musl):
    return (name.startswith("_") or name.startswith("gnu_get_libc") or name in UCONTEXT
            or ("64" in name and name.replace("64", "", 1) in musl))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--glibc", action="append", required=True, metavar="ARCH=LIBDIR")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "rules", "verify",
                                                      "glibc_only.json"))
    args = parser.parse_args()
    result = {}
    for item in args.glibc:
        arch, libdir = item.split("=", 1)
        glibc, musl = glibc_exports(libdir), musl_exports(arch)
        result[arch] = sorted({n for n in glibc - musl if kept(n, musl)} | (set(GLIBC_HEADER_ONLY) & glibc))
        print(f"{arch}: glibc {len(glibc)}, musl {len(musl)}, glibc-only kept {len(result[arch])}")
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=0, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
