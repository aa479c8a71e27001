"""Analysis tests: each rule and toolchain declared in-process, asserting the exact Steps (argv, env, inputs,
outputs) the build would run. Real builds of the same rules are in test_build.py, test_container.py and
test_examples.py; here nothing runs, so the whole file takes about a second."""
import os

import pytest

from sconsrules.actions import Call
from sconsrules.actions.commands import Listed
from sconsrules.configure.platform import Platform
from sconsrules.configure.toolchains.container import ContainerToolchain
from sconsrules.configure.toolchains.zig import CANONICAL_DEBUG_DIR

AMD64, ARM64 = Platform.parse("linux/amd64"), Platform.parse("linux/arm64")
GO_MOD = "module example.com/app\n\ngo 1.22\n"
MAIN_GO = 'package main\n\n// #include "b.h"\nimport "C"\n\nfunc main() {}\n'


def libraries(a):
    a.write("a/a.c", "int a(void) { return 1; }\n")
    a.write("a/include/a.h", "int a(void);\n")
    a.write("b/b.c", '#include "a.h"\nint b(void) { return a(); }\n')
    a.write("b/b.h", "int b(void);\n")
    liba = a.env.StaticCLib("a", srcs=["a/a.c"], hdrs=["a/include/a.h"], includes=["a/include"], defines=["A_API=1"],
                            copts=["-Wall"], linkopts=["-lm"])
    return a.env.StaticCLib("b", srcs=["b/b.c"], hdrs=["b/b.h"], includes=["b"], deps=[liba], copts=["-Wextra"])


def test_static_c_lib_compiles_with_what_deps_give_and_archives_deterministically(analysis):
    a = analysis
    a.env["SCONSRULES_PLATFORMS"] = ["linux/arm64"]
    nodes = libraries(a)
    root, out = a.root, a.path("build", "linux-arm64-musl-zig")
    archive_b = [s for s in a.steps("StaticCLib", "archive") if s.label == "b"][0]
    assert archive_b.config == "linux-arm64-musl-zig" and archive_b.executor == "native"
    build, = archive_b.commands  # the library's step compiles its members, then archives them
    assert build.function == "sconsrules.execute.members:archive_library" and build.runs_commands and build.scanned
    members, archive, record, identity, config, shared = build.args
    obj = f"{out}/_objs/b/b/b.o"
    (shown, source, member_obj, compile_b), = members
    assert (shown, source, member_obj) == ("b/b.c", f"{root}/b/b.c", obj)
    assert list(compile_b.argv) == [
        a.zig_exe, "cc", "-target", "aarch64-linux-musl", "-c", f"{root}/b/b.c", "-o", obj + ".sconsrules-tmp",
        "-O2", "-DA_API=1", f"-I{root}/b", f"-I{root}/a/include", "-Wextra", f"-ffile-prefix-map={root}=.",
        f"-ffile-prefix-map={os.path.dirname(a.zig_exe)}/lib={CANONICAL_DEBUG_DIR}/lib"]
    assert "-Wall" not in compile_b.argv  # copts stay private
    assert record == f"{out}/_objs/b/.members.json" and config == archive_b.config and shared == ()
    assert archive_b.out == f"{out}/libb.a" and archive_b.outputs.kind == "file"
    assert archive_b.policy.platform == ARM64 and archive_b.identities == ("zig 0.14.0",) == (identity,)
    assert build.shown is archive and build.reports == 1
    assert list(archive.argv) == [a.zig_exe, "ar", "rcsD", f"{out}/libb.a.sconsrules-tmp", obj]
    assert [n.abspath for n in nodes] == [f"{out}/libb.a"]
    assert dict(archive_b.passenv)["ZIG_GLOBAL_CACHE_DIR"]  # caches pass through, outside the signature


def test_go_cgo_binary_links_the_transitive_archives_statically(analysis):
    a = analysis
    libb = libraries(a)
    a.write("go.mod", GO_MOD)
    a.write("main.go", MAIN_GO)
    nodes = a.env.GoCgoBinary("app", cdeps=[libb], platforms=["linux/amd64", "linux/arm64"], x_defs={"main.v": "1 2"})
    assert [n.abspath for n in nodes] == [a.path("build", "linux-amd64-musl-zig", "app"),
                                          a.path("build", "linux-arm64-musl-zig", "app")]
    build = [s for s in a.steps("GoCgoBinary") if s.config == "linux-arm64-musl-zig"][0]
    check, = build.commands
    listing, link_policy, config, cdeps, manifest, command = check.args
    assert check.shown is command and check.reports == 5
    components, facts, root, cc, obj = manifest
    assert [(c.kind, c.name) for c in components] == [("StaticCLib", "b"), ("StaticCLib", "a")]
    assert dict(facts)["platform"] == "linux/arm64" and obj == build.out + ".deps.o" and root == a.root
    assert check.function == "sconsrules.execute.golinks:link" and check.runs_commands
    assert listing == Listed(cgo=True)  # stdlib and the module's own packages only: no go list to run
    assert config == "linux-arm64-musl-zig" and cdeps == ("b",)
    assert link_policy.cxx_runtime == "libc++" and link_policy.libc == "musl"
    assert list(command.argv) == [
        a.go_exe, "build", "-trimpath", "-buildvcs=false", "-tags", "netgo,osusergo,musl", "-ldflags",
        f"-s -w -linkmode=external '-extldflags=-static -s {build.out}.deps.o' -buildid= '-X=main.v=1 2'",
        "-o", build.out + ".sconsrules-tmp", "."]
    env = dict(command.env)
    out = a.path("build", "linux-arm64-musl-zig")
    assert env["CC"] == f"{a.zig_exe} cc -target aarch64-linux-musl"
    assert env["GOARCH"] == "arm64" and env["GOOS"] == "linux" and env["CGO_ENABLED"] == "1"
    assert env["GOFLAGS"] == "" and env["GOTOOLCHAIN"] == "local" and env["GOENV"] == "off"
    # each library before what it needs, then what makes cgo's own `_cgo_.o` links ask zig for the final link's
    # libc variant; the manifest's object goes to the final link alone (-extldflags above), once
    assert env["CGO_LDFLAGS"] == f"{out}/libb.a {out}/liba.a -lm -s -fno-PIC"
    assert f"-I{a.root}/a/include" in env["CGO_CPPFLAGS"] and "-DA_API=1" in env["CGO_CPPFLAGS"]
    assert env["CGO_CFLAGS"] == env["CGO_CXXFLAGS"] == "-O2"
    assert env["CXX"] == f"{a.zig_exe} c++ -target aarch64-linux-musl"  # also when no C++ is known at read time
    assert command.cwd == a.root and command.expand_env == ("CGO_CPPFLAGS", "CGO_LDFLAGS")
    v = build.verification
    assert v.report and v.policy.static and v.policy.go and v.policy.cgo and v.policy.stripped
    assert [p for p, _ in v.prechecks] == [f"{out}/libb.a", f"{out}/liba.a"]
    assert a.root in v.policy.leak_paths
    assert build.caching.digest_env == "CGO_CPPFLAGS" and build.identities[1] == "go version go1.24.0 linux/amd64"
    assert not a.steps(what="go mod download")  # a native toolchain uses this machine's module cache


def test_a_container_toolchain_downloads_modules_in_a_step_of_its_own(analysis):
    a = analysis
    a.write("go.mod", GO_MOD)
    a.write("go.sum", "")
    a.write("main.go", "package main\n\nfunc main() {}\n")
    tc = ContainerToolchain(name="ctr-builder", display="builder:1", cc_command=("gcc",), cxx_command=("g++",),
                            ar_command=("ar",), go_command="go", platforms=(AMD64,), image="builder:1",
                            resolved_id="sha256:" + "1" * 64, ids=a.ctx.identities)
    a.env.GoCgoBinary("app", toolchain=tc, platforms=["linux/amd64"])
    download = a.step(what="go mod download")
    build = a.step("GoCgoBinary", "go build")
    assert download.commands[0].network and list(download.commands[0].argv) == ["go", "mod", "download"]
    assert download.outputs.kind == "stamp" and download.executor == build.executor == \
        "ctr-builder/linux-amd64-musl-ctr-builder"
    assert not build.commands[-1].shown.network and build.commands[-1].shown.argv[0] == "go"
    assert dict(build.commands[-1].shown.env)["CC"] == "gcc"
    assert build.identities[0] == "image sha256:" + "1" * 64
    mounts = a.ctx.executors[build.executor].mounts
    assert (a.path("build", "linux-amd64-musl-ctr-builder"), False) in mounts and (a.root, True) in mounts


def test_two_toolchains_never_share_an_output_tree(analysis):
    a = analysis
    a.write("a.c", "int a;\n")
    one, two = (ContainerToolchain(name="ctr-x", display=image, cc_command=("gcc",), cxx_command=("g++",),
                                   ar_command=("ar",), go_command="go", platforms=(AMD64,), image=image,
                                   resolved_id="sha256:" + digit * 64, ids=a.ctx.identities)
                for image, digit in (("x:1", "1"), ("x/1", "2")))
    a.env["SCONSRULES_PLATFORMS"] = ["linux/amd64"]
    a.env["SCONSRULES_TOOLCHAIN"] = one
    a.env.StaticCLib("a", srcs=["a.c"])
    a.env["SCONSRULES_TOOLCHAIN"] = two
    line = a.error("env.StaticCLib('b', srcs=['a.c'])")
    assert line.startswith("sconsrules: StaticCLib 'b': two different toolchains would build into "
                           "build/linux-amd64-musl-ctr-x: image sha256:1")
    assert "hint: give the container toolchains distinct names with name=" in line


def test_musl_gcc_builds_for_the_host_only(analysis):
    a = analysis
    a.write("a.c", "int a;\n")
    a.env["SCONSRULES_TOOLCHAIN"] = a.musl_gcc
    other = "linux/arm64" if Platform.host() == AMD64 else "linux/amd64"
    a.env["SCONSRULES_PLATFORMS"] = [other]
    assert a.error("env.StaticCLib('a', srcs=['a.c'])") == (
        f"sconsrules: StaticCLib 'a': toolchain 'musl-gcc' builds only for the host, not {other} (hint: use "
        "toolchain='zig' (any architecture) or a container toolchain for cross builds)")
    assert not a.ctx.steps


def test_source_archive_is_one_step_whose_work_is_a_call(analysis):
    a = analysis
    sha = "a" * 64
    first = a.env.SourceArchive("zlib-1.3", urls=["https://example.invalid/zlib-1.3.tar.gz"], sha256=sha.upper(),
                                strip_prefix="zlib-1.3/", max_entries=10)
    again = a.env.SourceArchive("zlib-1.3", urls=["https://example.invalid/zlib-1.3.tar.gz"], sha256=sha,
                                strip_prefix="zlib-1.3", max_entries=10)
    assert first is again and len(a.steps("SourceArchive")) == 1
    step = a.step("SourceArchive")
    dest = a.path("build", "_src", "zlib-1.3-aaaaaaaaaaaa")
    call = step.commands[0]
    assert isinstance(call, Call) and call.function == "sconsrules.execute.fetch:materialize"
    spec, tmp = call.args
    assert (spec.sha256, spec.strip_prefix, spec.limits.max_entries) == (sha, "zlib-1.3", 10)
    assert tmp == dest + ".sconsrules-tmp" and step.outputs.kind == "tree" and step.policy is None
    assert step.targets() == [dest + ".stamp"] and first.attributes.sconsrules_source_dir == dest
    assert step.outputs.stamp == f"{sha} zlib-1.3"  # what dependents' signatures see: not how it was fetched


def test_foreign_c_lib_builds_in_a_scratch_copy_and_installs_with_destdir(analysis):
    a = analysis
    a.write("src/CMakeLists.txt", "project(x C)\n")
    a.env["SCONSRULES_PLATFORMS"] = ["linux/arm64"]
    a.env.ForeignCLib("x", source="src", build="cmake", configure_args=["-DCPU={cpu}"], outputs=["lib/libx.a"],
                      env={"X_MODE": "fast", "CXXFLAGS": "-O3"})
    step = a.step("ForeignCLib")
    out = a.path("build", "linux-arm64-musl-zig", "_foreign", "x")
    assert step.outputs.kind == "tree" and step.outputs.members == ("usr/local/lib/libx.a",)
    assert step.targets() == [out + "/usr/local/lib/libx.a"] and step.caching.shared and step.quiet
    argv = step.commands[0].argv
    assert argv[:2] == ("sh", "-c")
    script = argv[2]
    assert f"cp -a {a.root}/src/. {out}.work/" in script
    assert "-DCPU=aarch64" in script and f"DESTDIR={out}.sconsrules-tmp cmake --install _sconsrules_build" in script
    env = dict(step.commands[0].env)
    assert env["X_MODE"] == "fast" and env["SOURCE_DATE_EPOCH"] == "0"
    assert env["CXX"] == "c++" and env["CXXFLAGS"] == "-O3" and env["CFLAGS"] == "-O2"  # env= has the last word
    assert "MAKEFLAGS" in dict(step.passenv)  # -j is passed through, never signed
    # cmake exports its compiles into the tree, path-free; the step writes compile_commands.json again when done
    assert "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON" in script
    assert f"> {out}.sconsrules-tmp/.sconsrules/compile_commands.json" in script and "@SCONSRULES_SOURCE@" in script
    lib = a.env.File(out + "/usr/local/lib/libx.a")
    assert lib.attributes.sconsrules_exports


def test_select_picks_each_platforms_branch(analysis):
    from sconsrules import select
    a = analysis
    a.write("src/configure", "")
    a.env["SCONSRULES_PLATFORMS"] = ["linux/386", "linux/amd64", "linux/arm/v7"]
    a.env.ForeignCLib("x", source="src", configure_args=["{openssl_target}", select(
        {"linux/386": ["-DBROKEN_CLANG_ATOMICS"], "linux/arm/v7": "-DARM"}, default=["-DOTHER={cpu}"])],
        outputs=["lib/libx.a"])
    scripts = {s.config.split("-")[1]: s.commands[0].argv[2] for s in a.steps("ForeignCLib")}
    assert "./configure --prefix=/usr/local linux-x86 -DBROKEN_CLANG_ATOMICS $host\n" in scripts["386"]
    assert "./configure --prefix=/usr/local linux-x86_64 -DOTHER=x86_64\n" in scripts["amd64"]
    assert "./configure --prefix=/usr/local linux-armv4 -DARM $host\n" in scripts["arm"]


def test_pkg_config_c_lib_resolves_at_build_time_into_response_files(analysis):
    a = analysis
    a.env["SCONSRULES_PLATFORMS"] = ["linux/amd64"]
    os.makedirs(a.path("sysroot", "x86_64", "lib", "pkgconfig"))
    a.env.PkgConfigCLib("ssl", module="openssl", pkg_config_path=["sysroot/{cpu}/lib/pkgconfig"])
    step = a.step("PkgConfigCLib")
    out = a.path("build", "linux-amd64-musl-zig", "_pkgconfig", "ssl")
    command = step.commands[0]
    assert list(command.argv[3:]) == ["pkgconfig", out + ".sconsrules-tmp", out, "pkg-config", "openssl"]
    assert dict(command.env)["PKG_CONFIG_LIBDIR"] == a.path("sysroot", "x86_64", "lib", "pkgconfig")
    assert step.outputs.members == ("cflags.rsp", "libs.rsp") and step.verification.glob == "lib/*.a"
    assert len(step.identities) == 2  # the toolchain, and the listing of the search path on this machine


# Read-time errors, in this process: one line naming the rule, the target and the cause (+ hint).
GO_PROJECT = {"go.mod": GO_MOD, "main.go": 'package main\n\n// #include "a.h"\nimport "C"\n\nfunc main() {}\n',
              "a.c": "int a;\n", "a.h": "", "sub/x.txt": "", "lib/lib.go": "package lib\n"}
CASES = [
    ("env.StaticCLib('a', srcs=['a.c'], copst=['-O2'])",
     "StaticCLib 'a': unknown attribute 'copst' (hint: did you mean 'copts'?)"),
    ("env.StaticCLib('a', srcs=['a.c'], defines='X=1', copts=[3])",
     "StaticCLib 'a': copts must be a list of strings, found int 3"),
    ("env.StaticCLib('a', srcs=['missing.c'])",
     "StaticCLib 'a': srcs: file not found: missing.c (hint: paths are relative to the SConscript"),
    ("env.StaticCLib('a', srcs=[])", "StaticCLib 'a': srcs is empty"),
    ("env.StaticCLib('a', srcs=['a.c'], deps=['nope'])",
     "StaticCLib 'a': deps: 'nope': no library of that name is declared (yet)"),
    ("env.StaticCLib('a', srcs=['a.c'], deps=[File('a.c')])", "StaticCLib 'a': deps: 'a.c' is not a library declared with"),
    ("env.StaticCLib('a\\nb', srcs=['a.c'])", "StaticCLib 'a\\nb': the first argument must be the target's name"),
    ("env.StaticCLib('a/b', srcs=['a.c'])", "StaticCLib 'a/b': the first argument must be the target's name"),
    ("env.SourceArchive('../../../x', urls=['file:///x.tgz'], sha256='0' * 64)",
     "SourceArchive '../../../x': the first argument must be the target's name"),
    ("env.SourceArchive('', urls=['file:///x.tgz'], sha256='0' * 64)",
     "SourceArchive: the first argument must be the target's name"),
    ("env.SourceArchive(7, urls=['file:///x.tgz'], sha256='0' * 64)",
     "SourceArchive 'int 7': the first argument must be the target's name"),
    ("env.SourceArchive('x', urls=['file:///x.tgz'], sha256='0' * 64, max_bytes=-1)",
     "SourceArchive 'x': max_bytes must be a positive whole number, not -1"),
    ("env.SourceArchive('x', urls=['ftp://x/x.tgz'], sha256='0' * 64)",
     "SourceArchive 'x': urls must be a list of http://, https:// or file:// URLs"),
    ("env.SourceArchive('x', urls=['file:///x.tgz'], sha256='abc')",
     "SourceArchive 'x': sha256 must be the archive's 64-hex-digit SHA-256 (hint: sha256sum FILE)"),
    ("env.ForeignCLib('f', source=Dir('nodir'), build='make', outputs=['lib/libf.a'])",
     "ForeignCLib 'f': source 'nodir' is neither a SourceArchive nor an existing directory"),
    ("env.ForeignCLib('f', source='sub', build='make', outputs=['lib/libf.a'], install_prefix='/../../../tmp/x')",
     "ForeignCLib 'f': install_prefix must be an absolute path such as '/usr/local', without '..'"),
    ("env.ForeignCLib('f', source='sub', build='make', outputs=['lib/libf.a'], install_prefix=5)",
     "ForeignCLib 'f': install_prefix must be an absolute path such as '/usr/local', without '..', not 5"),
    ("env.ForeignCLib('f', source='sub', build='ninja', outputs=['lib/libf.a'])",
     "ForeignCLib 'f': build must be one of configure-make, cmake, make, not 'ninja'"),
    ("env.PkgConfigCLib('p')", "PkgConfigCLib 'p': module must name a pkg-config module"),
    ("env.GoCgoBinary('app', package='..')", "GoCgoBinary 'app': package '..' must stay inside the module root"),
    ("env.GoCgoBinary('app', package='./lib')", "GoCgoBinary 'app': package ./lib is not a main package (package lib)"),
    ("env.GoCgoBinary('app', package='.', x_defs={'main.v': 'it\\'s \"q\" x'})", "GoCgoBinary 'app': x_defs: "),
    ("env.GoCgoBinary('app', package='.', x_defs={'version': 'x'})",
     "GoCgoBinary 'app': x_defs: 'version' must name a variable as 'importpath.name'"),
    ("env.GoCgoBinary('app', package='.', platforms=['linux/mips64le'])",
     "GoCgoBinary 'app': platforms: unsupported architecture 'mips64le' (supported: amd64, arm64, arm, 386, riscv64, "
     "ppc64le, s390x) (hint: write platforms as Go and OCI do: os/arch[/variant], e.g. 'linux/arm64' or 'linux/arm/v7')"),
    ("env.GoCgoBinary('app', package='.', platforms=['linux'])",
     "GoCgoBinary 'app': platforms: platform 'linux' is not of the form os/arch[/libc]"),
    ("env.GoCgoBinary('app', package='./cmd/none')", "GoCgoBinary 'app': package directory"),
    ("env.GoCgoBinary('app', package='../out')", "GoCgoBinary 'app': package '../out' must stay inside the module root"),
    ("env.GoCgoBinary('app', package='.', toolchain='clang')",
     "GoCgoBinary 'app': unknown toolchain 'clang' (hint: use one of auto, zig, musl-gcc)"),
    ("env.GoCgoBinary('app', package='.', strip='yes')", "GoCgoBinary 'app': strip must be True or False, not 'yes'"),
    ("env.GoCgoBinary('app', package='.', x_defs=['a=b'])", "GoCgoBinary 'app': x_defs must be a dict"),
    ("env.GoCgoBinary('app', package='.', verify={'hardening.gnustack': 'x'})",
     "GoCgoBinary 'app': verify: unknown check 'hardening.gnustack' (did you mean 'hardening.gnu-stack'?)"),
    ("env.StaticCLib('a', srcs=['a.c'], verify={'stripped': ''})",
     "StaticCLib 'a': verify: relaxing 'stripped' needs a stated reason"),
    ("env.GoCgoBinary('app', package='.', module='sub')", "GoCgoBinary 'app': no go.mod found at or above"),
    ("env.ScratchImage('app:1', File('a.c'))", "ScratchImage 'app:1': binary must be a node returned by GoCgoBinary"),
    ("from sconsrules import select; env.ForeignCLib('f', source='sub', outputs=['lib/libf.a'], "
     "configure_args=[select({'linux/amd46': ['-DX']})])",
     "ForeignCLib 'f': configure_args: select() key 'linux/amd46': unsupported architecture 'amd46'"),
    ("from sconsrules import select; env.ForeignCLib('f', source='sub', outputs=['lib/libf.a'], "
     "configure_args=[select({'linux/386': [3]})])",
     "ForeignCLib 'f': configure_args: select() branch 'linux/386' must hold strings, found int"),
    ("from sconsrules import select; env.StaticCLib('a', srcs=['a.c'], copts=[select({'linux/386': ['-m']})])",
     "StaticCLib 'a': copts does not take select(); only attributes that take {placeholders} do"),
    ("env.ContainerToolchain(image='x', cxx_runtime='stdc++')",
     "ContainerToolchain 'x': cxx_runtime must be one of 'libstdc++', 'libc++', not 'stdc++' (hint: the C++ standard"),
    ("env.StaticCLib('a', srcs=['a.c'], copts=[object()])",
     "StaticCLib 'a': copts must be a list of strings, found an object"),
    ("env.StaticCLib('a', srcs=['a.c'], copts=[File('a.c')])",
     "StaticCLib 'a': copts must be a list of strings, found File 'a.c'"),
    ("env.ContainerToolchain(image='x', dockerfile='y')", "ContainerToolchain 'x': give exactly one of image= or dockerfile="),
    ("env.ContainerToolchain(dockerfile='nope/Dockerfile')", "ContainerToolchain 'nope/Dockerfile': Dockerfile not found"),
]


@pytest.mark.parametrize("call, message", CASES, ids=[c[1].split(":")[1].strip()[:40] for c in CASES])
def test_read_time_errors(analysis, call, message):
    for rel, text in GO_PROJECT.items():
        analysis.write(rel, text)
    err, status = analysis.read(call + "\n")
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("scons: *** sconsrules: ") and message in lines[0], err
    assert lines[1] == f'File "{analysis.path("SConstruct")}", line 1, in <module>'
    assert "Traceback" not in err and not analysis.ctx.steps


def test_cdeps_naming_a_binary_says_so(analysis):
    for rel, text in GO_PROJECT.items():
        analysis.write(rel, text)
    analysis.read("app = env.GoCgoBinary('app', package='.')\n")
    assert analysis.error("env.GoCgoBinary('app2', package='.', cdeps=[app])".replace("app]", "File('build/linux-amd64-"
                                                                                         "musl-zig/app')]")) == (
        "sconsrules: GoCgoBinary 'app2': cdeps: 'build/linux-amd64-musl-zig/app' is what GoCgoBinary 'app' builds, "
        "not a library (hint: name a StaticCLib, ForeignCLib or PkgConfigCLib here)")


def test_one_context_per_run_shared_by_its_environments(analysis):
    import SCons.Environment
    import SCons.Node.FS

    from sconsrules import tool
    from sconsrules.context import Context

    a = analysis
    a.write("a.c", "int a;\n")
    other = SCons.Environment.Environment(tools=[], SCONSRULES_TOOLCHAIN=a.zig, SCONSRULES_PLATFORMS=["linux/amd64"])
    tool.generate(other)
    a.env["SCONSRULES_PLATFORMS"] = ["linux/amd64"]
    a.env.StaticCLib("a", srcs=["a.c"])
    assert Context.of(other) is a.ctx and Context.of(a.env.Clone()) is a.ctx
    other.StaticCLib("b", srcs=["a.c"], deps=["a"])  # a name declared through the other environment
    assert [s.label for s in a.steps("StaticCLib", "archive")] == ["a", "b"]
    SCons.Node.FS.default_fs = SCons.Node.FS.FS(a.root)  # a new run (its own file-system tree)
    fresh = SCons.Environment.Environment(tools=[])
    tool.generate(fresh)
    assert Context.of(fresh) is not a.ctx and not Context.of(fresh).steps


def test_cxx_sources_compile_with_the_cxx_driver_and_link_its_runtime(analysis):
    a = analysis
    a.write("m/m.c", "int m;\n")
    a.write("m/k.cc", "int k;\n")
    a.write("go.mod", GO_MOD)
    a.write("main.go", "package main\n\nimport \"C\"\n\nfunc main() {}\n")
    lib = a.env.StaticCLib("m", srcs=["m/m.c", "m/k.cc"], copts=["-Wall"], cxxopts=["-std=c++17"])
    a.env.GoCgoBinary("app", cdeps=[lib], platforms=["linux/amd64"])
    members = {shown: command for shown, _, _, command in a.step("StaticCLib").commands[0].args[0]}
    c, cxx = members["m/m.c"], members["m/k.cc"]
    assert c.argv[:2] == (a.zig_exe, "cc") and "-std=c++17" not in c.argv
    assert cxx.argv[:2] == (a.zig_exe, "c++") and "-std=c++17" in cxx.argv
    assert "-Wall" in c.argv and "-Wall" in cxx.argv
    ldflags = dict(a.step("GoCgoBinary").commands[-1].shown.env)["CGO_LDFLAGS"]
    assert ldflags.endswith("libm.a -s -fno-PIC -lc++")


def test_musl_gcc_refuses_cxx_at_read_time(analysis):
    a = analysis
    a.write("k.cc", "int k;\n")
    a.write("go.mod", GO_MOD)
    a.write("main.go", "package main\n\nimport \"C\"\n\nfunc main() {}\n")
    a.env["SCONSRULES_TOOLCHAIN"] = a.musl_gcc
    host = str(Platform.host())
    a.env["SCONSRULES_PLATFORMS"] = [host]
    config = f"linux-{Platform.host().arch}-musl-musl-gcc"
    assert a.error("env.StaticCLib('k', srcs=['k.cc'])") == (
        f"sconsrules: StaticCLib 'k': [{config}] musl-gcc has no C++: Debian ships no libstdc++ built for musl, so "
        "C++ code cannot be linked statically against musl with it (hint: build C++ with toolchain='zig' (or a "
        "container image))")
    assert a.error("env.GoCgoBinary('app')").startswith(
        f"sconsrules: GoCgoBinary 'app': [{config}] it has C++ sources (k.cc), and musl-gcc has no C++")


@pytest.mark.parametrize("options, line", [
    ({"platforms": "linux/amd46"}, "sconsrules: --platforms=linux/amd46: unsupported architecture 'amd46' "
                                   "(supported: amd64, arm64, arm, 386, riscv64, ppc64le, s390x) (hint: a comma-separated "
                                   "list of linux/amd64, linux/arm64, linux/arm/v7, linux/386"),
    ({"platforms": "linux/amd64,arm64"}, "sconsrules: --platforms=linux/amd64,arm64: platform 'arm64' is not of the "
                                         "form os/arch[/libc]"),
    ({"platforms": ","}, "sconsrules: --platforms=: names no platform"),
    ({"toolchain": "clang"}, "sconsrules: --toolchain=clang: unknown toolchain (hint: use one of auto, zig, musl-gcc)"),
])
def test_option_errors_blame_the_option(tmp_path, monkeypatch, capsys, options, line):
    """Checked when the tool loads, before any rule: the message names the option, not the first rule."""
    import SCons.Node.FS
    from analysis import Analysis
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SCons.Node.FS, "default_fs", SCons.Node.FS.default_fs)
    with pytest.raises(SystemExit) as exc:
        Analysis(tmp_path / "proj", options=options)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scons: *** " + line), err
    assert len(err.splitlines()) == 1 and "StaticCLib" not in err


def test_scratch_image_of_a_list_is_an_oci_layout_and_of_one_node_an_engine_image(analysis):
    """What GoCgoBinary returned (a list, even of one platform) gives the OCI layout, named by tag; one node
    gives the engine image. Neither needs Docker to be declared."""
    a = analysis
    a.write("go.mod", GO_MOD)
    a.write("main.go", "package main\n\nfunc main() {}\n")
    app = a.env.GoCgoBinary("app", package=".", platforms=["linux/amd64"])
    layout = a.env.ScratchImage("app:1.0", app)
    engine = a.env.ScratchImage("app:1.0-engine", app[0])
    assert layout.abspath == a.path("build", "images", "app-1.0.oci.tar")
    assert engine.abspath == a.path("build", "images", "app-1.0-engine.id")
    [step] = [s for s in a.steps("ScratchImage") if s.out == layout.abspath]
    assert step.commands[0].function == "sconsrules.execute.oci:layout"


def test_a_link_whose_packages_reach_another_module_lists_them_with_go_list(analysis):
    """go list runs (beside a relink) where the sources cannot say what the packages link: a required module."""
    a = analysis
    a.write("go.mod", GO_MOD + "\nrequire github.com/x/zstd v1.0.0\n")
    a.write("main.go", MAIN_GO.replace('import "C"', 'import "C"\nimport _ "github.com/x/zstd"'))
    a.env.GoCgoBinary("app", cdeps=[libraries(a)], platforms=["linux/arm64"])
    check, = [s for s in a.steps("GoCgoBinary")][0].commands
    listing = check.args[0]
    assert list(listing.argv[:5]) == [a.go_exe, "list", "-deps", "-tags", "netgo,osusergo,musl"] and listing.argv[-1] == "."
    assert dict(listing.env)["GOARCH"] == "arm64"
