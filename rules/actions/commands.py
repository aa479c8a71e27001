"""One pure function per kind of command: rule attributes and a configuration in, a Command (or Call) out.

They read nothing from disk and hold no state, so a rule's `realize` reads as what the rule declares, and the
analysis tests can assert the exact argv and environment of every kind.
"""
import os
import re
import shlex
from typing import Dict, Iterable, List, Optional, Sequence, Union

import attrs

from .step import Call, Command

# Pure-Go DNS and user lookup (no NSS in a static binary), and the platform's libc as a tag ("musl"): modules that
# ship a musl variant of a prebuilt archive or of their cgo flags select it with that tag (gozstd,
# confluent-kafka-go), as they do on Alpine.
DEFAULT_GO_TAGS = ("netgo", "osusergo")
DEBUG_BUILD_ID_SIZE = 20  # sha1, filled after the link (execute/debuginfo.py)
# Fixed for every `go` command: a user's `go env -w`, GOFLAGS and toolchain switching never reach the build.
GO_FIXED_ENV = {"GOENV": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local", "GO111MODULE": "on", "GOWORK": "off"}


def cc_compile(cc: Sequence[str], src: str, obj_tmp: str, flags: Iterable[str]) -> Command:
    return Command(list(cc) + ["-c", src, "-o", obj_tmp] + list(flags))


def inputs_define(digest: str) -> str:
    """A define naming a digest of the C inputs a compiler cache would not see (Go's keys a cgo compile on the
    package's own files, zig's on the files a compile read last time); no byte of the output changes."""
    return f"-DSCONSRULES_CINPUTS={digest}"


ARCHIVE_LIBRARY = "sconsrules.execute.members:archive_library"


def library_build(members, archive: Command, record: str, identity: str, config: str, shared: Sequence[str]) -> Call:
    """A StaticCLib's step: compile the out-of-date members ((shown, source, object, compile Command) each),
    then `archive` them, which it reports on. `shared`: the inputs every member reads (response files, images)."""
    return Call(ARCHIVE_LIBRARY, (tuple(members), archive, record, identity, config, tuple(shared)),
                runs_commands=True, scanned=True, reports=1)


def ar_archive(ar: Sequence[str], archive_tmp: str, objects: Iterable[str]) -> Command:
    """`D`: deterministic members (no timestamps, uids or modes)."""
    return Command(list(ar) + ["rcsD", archive_tmp] + list(objects))


def go_quote(field: str) -> str:
    """One field of a `go build -ldflags` string, quoted the way go splits it (cmd/internal/quoted: a field
    may be wrapped in '...' or "..." with nothing escaped inside; a quote inside an unquoted field is literal)."""
    if field and not any(c.isspace() for c in field) and field[0] not in "'\"":
        return field
    for quote in "'\"":
        if quote not in field:
            return quote + field + quote
    raise ValueError(f"{field!r} holds white space and both kinds of quote, which go's -ldflags cannot express")


def go_link_flags(static: bool, strip: bool, x_defs: Iterable, split_debug: bool = False,
                  objects: Iterable[str] = ()) -> List[str]:
    """Go's external linker with -static (`CC=musl-gcc` alone has produced dynamic binaries, golang/go#56386);
    strip goes into -extldflags too (zig ignores Go's -s otherwise); an empty build ID (it hashes absolute -I and
    archive paths) keeps the bytes the same in any checkout. A split-debug link keeps its DWARF uncompressed (the
    release archives compress it; gdb reads it without zlib) and reserves a zero GNU build ID, which
    execute/debuginfo.py fills with a hash of the linked file. `objects` go to the final link once: Go repeats
    CGO_LDFLAGS once per cgo package, so an object there was linked that many times (with -trimpath, Go's build
    info leaves -ldflags out, so their paths stay out of the binary)."""
    strip = strip and not split_debug
    extld = (["-static"] if static else []) + (["-s"] if strip else [])
    # Go's own -B reaches the linker only when its probe, which runs the first word of CC alone, passes: not for
    # zig cc.
    extld += ["-Wl,--compress-debug-sections=none", "-Wl,--build-id=0x" + "00" * DEBUG_BUILD_ID_SIZE] if split_debug else []
    extld += [go_quote(o) for o in objects]
    flags = ["-linkmode=external", "-extldflags=" + " ".join(extld)] if extld else ["-linkmode=external"]
    if strip:
        flags = ["-s", "-w"] + flags
    return flags + ["-buildid="] + [f"-X={k}={v}" for k, v in x_defs]


def warm_debug_libc(link, build: Command, cxx: bool) -> Call:
    """Fill zig's split-debug cache for a target once, from inside its fixed directory (execute/debuginfo.py)."""
    return Call("sconsrules.execute.debuginfo:warm", (link.directory, link.canonical, link.lib, link.mark, build, cxx),
                runs_commands=True)


def split_debug(out_tmp: str, name: str, link, policy) -> Call:
    """Build-ID, verify and split the unstripped link at `out_tmp` into it and `<out_tmp>.debug`."""
    cache = os.path.join(link.directory, "cache") if link is not None else None
    return Call("sconsrules.execute.debuginfo:split", (out_tmp, out_tmp + ".debug", name + ".debug", cache, policy),
                runs_commands=True)


def go_tag_list(tags: Iterable[str], platform) -> List[str]:
    defaults = list(DEFAULT_GO_TAGS) + [platform.libc]
    return defaults + [t for t in tags if t not in defaults]


def go_tags(tags: Iterable[str], platform) -> str:
    return ",".join(go_tag_list(tags, platform))


def go_env(workspace: Optional[str]) -> Dict[str, str]:
    """The fixed part of every `go` command's environment; a module in a workspace builds with its go.work."""
    return dict(GO_FIXED_ENV, GOWORK=workspace) if workspace else dict(GO_FIXED_ENV)


def go_build(go: str, package: str, out_tmp: str, tags: Iterable[str], ldflags: Iterable[str], cwd: str,
             env: Dict[str, str], platform, workspace: Optional[str] = None) -> Command:
    """-trimpath without VCS stamping keeps the output reproducible; CGO_CPPFLAGS/LDFLAGS expand response files."""
    return Command([go, "build", "-trimpath", "-buildvcs=false", "-tags", go_tags(tags, platform),
                    "-ldflags", " ".join(go_quote(f) for f in ldflags), "-o", out_tmp, package],
                   env=dict(env, **go_env(workspace)), cwd=cwd, expand_env=("CGO_CPPFLAGS", "CGO_LDFLAGS"))


def missing_compiler(cause: str) -> List[str]:
    """A compiler command that only states why there is none (the build's error line names the cause)."""
    return ["sh", "-c", 'echo "sconsrules: error: $0"; exit 3', cause]


def cgo_env(platform, cc: Sequence[str], cxx: Sequence[str], cppflags: Sequence[str], copts: Sequence[str],
            ldflags: Sequence[str]) -> Dict[str, str]:
    """Preprocessor flags (defines, includes, flag files) reach C and C++ alike through CGO_CPPFLAGS."""
    return dict(CGO_ENABLED="1", GOOS=platform.os, GOARCH=platform.info.goarch, CC=shlex.join(cc),
                CXX=shlex.join(cxx), CGO_CPPFLAGS=shlex.join(cppflags), CGO_CFLAGS=shlex.join(copts),
                CGO_CXXFLAGS=shlex.join(copts), CGO_LDFLAGS=shlex.join(ldflags), **dict(platform.info.go_env))


# Beside a binary's manifest object (<binary>.deps.o): the modules' C its last listing found (execute/golinks.py).
KEPT_LISTING_SUFFIX = ".modules.json"
LINK_LIST_MARK = "SCONSRULES-LINK"
LINK_LIST_SEP = "\x1f"
# One line per package: "cgo" when it imports "C" (cdeps no package can call are said to be unused), else "-";
# then, for a package with cgo link flags: import path, module@version, directory, the flags (${SRCDIR} expanded).
# A cgo package of a required module (one with a version) adds a line of the C files it compiles, for the
# dependency manifest: import path, module@version, directory, the files.
LINK_LIST_TEMPLATE = (LINK_LIST_MARK + " {{if .CgoFiles}}cgo{{else}}-{{end}}{{if .CgoLDFLAGS}}\t{{.ImportPath}}\t"
                      "{{with .Module}}{{.Path}}{{with .Version}}@{{.}}{{end}}{{end}}\t{{.Dir}}\t"
                      '{{join .CgoLDFLAGS "' + LINK_LIST_SEP + '"}}{{end}}'
                      "{{if .CgoFiles}}{{with .Module}}{{if .Version}}\n" + LINK_LIST_MARK + "-C\t{{$.ImportPath}}\t"
                      "{{.Path}}@{{.Version}}\t{{$.Dir}}\t{{join $.CFiles \"" + LINK_LIST_SEP + "\"}}" + LINK_LIST_SEP
                      + "{{join $.CXXFiles \"" + LINK_LIST_SEP + "\"}}" + LINK_LIST_SEP
                      + "{{join $.HFiles \"" + LINK_LIST_SEP + "\"}}{{end}}{{end}}{{end}}")


def go_link_inputs(go: str, package: str, tags: Iterable[str], cwd: str, platform,
                   workspace: Optional[str] = None) -> Command:
    """`go list -deps` of what the build will compile, with the cgo link flags of each package: the file
    selection depends only on the platform and the tags."""
    env = dict(CGO_ENABLED="1", GOOS=platform.os, GOARCH=platform.info.goarch, **dict(platform.info.go_env))
    return Command([go, "list", "-deps", "-tags", go_tags(tags, platform), "-f", LINK_LIST_TEMPLATE, package],
                   env=dict(env, **go_env(workspace)), cwd=cwd)


@attrs.frozen
class Listed:
    """A link's listing answered when the SConscripts were read: the build compiles only the standard library's
    and its own module's packages, and none of them links anything with a #cgo directive
    (declare/gosrc.py:LinkFacts), so `go list` could find no archive to verify and no module C to record.
    `cgo`: some package imports "C" (cdeps can be used)."""

    cgo: bool


def link_checking_inputs(listing: Union[Command, Listed], policy, config: str, cdeps: Sequence[str], manifest,
                         build: Command) -> Call:
    """`build` (a cgo link) with `listing` (go_link_inputs) run beside it and every archive it names verified
    against `policy`, or with its answer already known (Listed); the warning about unused `cdeps` (their names);
    the dependency manifest made from `manifest` (execute/manifest.py:compile_object's arguments).
    execute/golinks.py:link does it: the step fails on either, and its output is taken only when both are done."""
    return Call("sconsrules.execute.golinks:link", (listing, policy, config, tuple(cdeps), manifest, build),
                runs_commands=True, reports=5)


def go_mod_download(go: str, module_root: str, workspace: Optional[str] = None) -> Command:
    """The only command given the network; go.sum verifies what arrives."""
    return Command([go, "mod", "download"], env=go_env(workspace), cwd=module_root, network=True)


def _wrapper(path: str, argv: Sequence[str], link_extra: Sequence[str] = ()) -> str:
    """A script at `path` running `argv`; a bare command name is resolved now (PATH will start with the
    wrappers' own directory, so a wrapper named like its tool must not find itself). `link_extra` is appended
    when the call links an executable (no -c, -S, -E, -M or -shared): configure's probes."""
    tool = shlex.quote(argv[0]) if argv[0].startswith("/") else f'"$(command -v {shlex.quote(argv[0])})"'
    rest = shlex.quote(shlex.join(argv[1:])) if argv[1:] else "''"
    if not link_extra:
        return f"printf '#!/bin/sh\\nexec %s %s \"$@\"\\n' {tool} {rest} > {path} && chmod +x {path}"
    fmt = ('#!/bin/sh\\ncase " $* " in *" -c "*|*" -S "*|*" -E "*|*" -M "*|*" -MM "*|*" -shared "*) '
           'exec %s %s "$@";; esac\\nexec %s %s "$@" %s\\n')
    extra = shlex.quote(shlex.join(link_extra))
    return f"printf '{fmt}' {tool} {rest} {tool} {rest} {extra} > {path} && chmod +x {path}"


def cmake_toolchain_file(bindir: str, processor: Optional[str], roots: Sequence[str]) -> str:
    """What cmake must be told: the compilers and archiver (the wrappers), the target when cross-compiling
    (`processor` given: CMAKE_SYSTEM_NAME makes CMAKE_CROSSCOMPILING true), and where find_* may look: only the
    dependencies' install trees, never this machine's (glibc) libraries and headers."""
    lines = []
    if processor:
        lines += ["set(CMAKE_SYSTEM_NAME Linux)", f"set(CMAKE_SYSTEM_PROCESSOR {processor})"]
    lines += [f"set(CMAKE_C_COMPILER {bindir}/cc)", f"set(CMAKE_CXX_COMPILER {bindir}/c++)",
              f"set(CMAKE_AR {bindir}/ar CACHE FILEPATH \"\")", f"set(CMAKE_RANLIB {bindir}/ranlib CACHE FILEPATH \"\")",
              f"set(CMAKE_FIND_ROOT_PATH {' '.join(roots) or '/nonexistent'})",
              "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)", "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)",
              "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)", "set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)"]
    return "\n".join(lines) + "\n"


AUTOCONF_MARK = "Generated by GNU Autoconf"
EXPORTED_COMPILE_COMMANDS = ".sconsrules/compile_commands.json"  # in a foreign build's install tree
SOURCE_PLACEHOLDER = "@SCONSRULES_SOURCE@"
WRAPPER_DIR = ".sconsrules-bin"  # in the scratch copy: cc, c++, ar and ranlib running the toolchain's own


def _export_compile_commands(exported: str, work: str, stage: str) -> str:
    """Keep the compile commands a build system exported, in the install tree, with the scratch copy's path
    replaced by a placeholder: the tree stays free of this machine's paths (it is cached and shared), and
    compdb.py points the entries at the pristine source."""
    pattern = re.sub(r"[][\\.*^$|&/]", lambda m: "\\" + m.group(0), work)
    target = f"{stage}/{EXPORTED_COMPILE_COMMANDS}"
    return (f"if [ -f {exported} ]; then mkdir -p {shlex.quote(os.path.dirname(target))} && "
            f"sed {shlex.quote(f's|{pattern}|{SOURCE_PLACEHOLDER}|g')} {exported} > {shlex.quote(target)}; fi")


def foreign_build(build: str, source_dir: str, work: str, stage: str, tools: Dict[str, Sequence[str]],
                  configure: Sequence[str], cmake_args: Sequence[str], make: Sequence[str],
                  make_targets: Sequence[str], install_targets: Sequence[str], prefix: str,
                  env: Dict[str, str], cross_triple: Optional[str], roots: Sequence[str],
                  link_extra: Sequence[str] = ()) -> Command:
    """A configure-make, cmake or make build in a scratch copy of the source, installed with DESTDIR into
    `stage` under the runtime `prefix`, with cc/c++/ar/ranlib wrappers first on PATH. Cross builds tell the build
    system: cmake through a toolchain file, an Autoconf configure through --host (other configure scripts, such
    as OpenSSL's or zlib's, take no --host and are left alone)."""
    bindir = f"{work}/{WRAPPER_DIR}"
    lines = ["set -eu", f"rm -rf {shlex.quote(work)}", f"mkdir -p {shlex.quote(bindir)}",
             f"cp -a {shlex.quote(source_dir)}/. {shlex.quote(work)}/"]
    lines += [_wrapper(f"{bindir}/{tool}", argv, link_extra if tool in ("cc", "c++") else ())
              for tool, argv in tools.items()]
    lines += [f'export PATH="{bindir}:$PATH"', f"cd {shlex.quote(work)}"]
    if build == "configure-make":
        if cross_triple:
            lines.append(f"host=; if grep -q {shlex.quote(AUTOCONF_MARK)} {shlex.quote(configure[0])} 2>/dev/null; "
                         f"then host=--host={cross_triple}; fi")
            lines.append(shlex.join(configure) + " $host")
        else:
            lines.append(shlex.join(configure))
    if build == "cmake":
        toolchain = f"{work}/.sconsrules-toolchain.cmake"
        processor = cross_triple.split("-")[0] if cross_triple else None
        lines.append(f"cat > {shlex.quote(toolchain)} <<'SCONSRULES_EOF'\n"
                     f"{cmake_toolchain_file(bindir, processor, roots)}SCONSRULES_EOF")
        lines.append(shlex.join(["cmake", "-S", ".", "-B", "_sconsrules_build", "-DCMAKE_BUILD_TYPE=Release",
                                 "-DBUILD_SHARED_LIBS=OFF", f"-DCMAKE_INSTALL_PREFIX={prefix}",
                                 "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
                                 f"-DCMAKE_TOOLCHAIN_FILE={toolchain}"] + list(cmake_args)))
        lines.append("cmake --build _sconsrules_build")
        lines.append(f"DESTDIR={shlex.quote(stage)} cmake --install _sconsrules_build")
        lines.append(_export_compile_commands("_sconsrules_build/compile_commands.json", work, stage))
    else:
        lines.append(shlex.join(list(make) + list(make_targets)))
        lines.append(shlex.join(list(make) + list(install_targets) + [f"DESTDIR={stage}", f"PREFIX={prefix}"]))
    return Command(["sh", "-c", "\n".join(lines)], env=env)


# Parts of the C library itself: musl's libc.a holds them all, so they stay -l flags (never copied).
LIBC_PARTS = "c m pthread dl rt util xnet resolv crypt"

# Portable sh (a minimal image may have only busybox): $1 the step's temporary directory, $2 the final one,
# $3 the pkg-config command, $4 the module. A failure states its cause on one line (perform shows it).
RESOLVE_SCRIPT = r'''
set -u
set -f
tmp=$1 final=$2 pc=$3 module=$4
fail() { printf 'sconsrules: error: %s\n' "$*"; exit 3; }
command -v "$pc" >/dev/null 2>&1 || fail "'$pc' is not installed where the toolchain runs (install pkg-config, or name it with pkg_config=)"
mkdir -p "$tmp/lib" || exit 1
if ! "$pc" --exists --print-errors "$module" 2>"$tmp/pkg-config.err"; then
  fail "$pc: $(tail -n 1 "$tmp/pkg-config.err") (install the library's development package, or set pkg_config_path=)"
fi
cflags=$("$pc" --static --cflags "$module") || fail "$pc --static --cflags $module failed"
libs=$("$pc" --static --libs "$module") || fail "$pc --static --libs $module failed"
"$pc" --modversion "$module" >"$tmp/modversion.txt" 2>/dev/null || : >"$tmp/modversion.txt"
: >"$tmp/cflags.rsp"
: >"$tmp/libs.rsp"
: >"$tmp/origins.txt"
for w in $cflags; do printf '%s\n' "$w" >>"$tmp/cflags.rsp"; done
add() { printf '%s\n' "$1" >>"$tmp/libs.rsp"; }
copy() {
  [ -f "$1" ] || fail "$1, named by the .pc files of $module, does not exist"
  sum=$(cksum <"$1" | tr ' ' '-') || exit 1
  copy=lib/$sum/${1#/}
  mkdir -p "$tmp/${copy%/*}" && cp "$1" "$tmp/$copy" || exit 1
  add "$final/$copy"
  printf '%s\n' "$1" >>"$tmp/origins.txt"
}
dirs=
for w in $libs; do
  case $w in
    -L*) dirs="$dirs ${w#-L}" ;;
    -l*)
      n=${w#-l}
      case " $LIBC_PARTS " in *" $n "*) add "$w"; continue ;; esac
      found= shared=
      for d in $dirs; do
        if [ -f "$d/lib$n.a" ]; then found=$d/lib$n.a; break; fi
        if [ -z "$shared" ] && [ -e "$d/lib$n.so" ]; then shared=$d/lib$n.so; fi
      done
      if [ -n "$found" ]; then copy "$found"
      elif [ -n "$shared" ]; then fail "-l$n resolves only to the shared library $shared: a static link needs lib$n.a (install the library's static package)"
      else fail "-l$n: no lib$n.a in the directories the .pc files name (${dirs# })"
      fi ;;
    *.a) copy "$w" ;;
    *.so|*.so.[0-9]*) fail "$w is a shared library: a static link needs its .a (install the library's static package)" ;;
    *) add "$w" ;;
  esac
done
'''

def pkg_config_resolve(pkg_config: str, module: str, out_tmp: str, out: str, env: Dict[str, str]) -> Command:
    return Command(["sh", "-c", RESOLVE_SCRIPT, "pkgconfig", out_tmp, out, pkg_config, module],
                   env=dict(env, LIBC_PARTS=LIBC_PARTS))


def fetch_archive(spec, dest_tmp: str) -> Call:
    return Call("sconsrules.execute.fetch:materialize", (spec, dest_tmp))


def dockerfile_image(label: str, tag: str, dockerfile: str, context: str, out_tmp: str) -> Call:
    return Call("sconsrules.execute.images:dockerfile_image", (label, tag, dockerfile, context, out_tmp))


def scratch_image(tag: str, binary: str, ca_certs: bool, args: Sequence[str], platform: str, out_tmp: str) -> Call:
    return Call("sconsrules.execute.images:scratch_image", (tag, binary, ca_certs, tuple(args), platform, out_tmp))
