"""Bad input: one clear line naming the rule, the target and the cause, with a hint; no traceback."""
import pytest

GO_MOD = "module example.com/e\n\ngo 1.22\n"
MAIN_GO = 'package main\n\n// #include "a.h"\nimport "C"\n\nfunc main() {}\n'
HEADER = "env = Environment(tools=['default', 'sconsrules'])\n"

CASES = [
    ("env.StaticCLib('a', srcs=['a.c'], copst=['-O2'])",
     "StaticCLib 'a': unknown attribute 'copst' (hint: did you mean 'copts'?)"),
    ("env.StaticCLib('a', srcs=['a.c'], defines='X=1', copts=[3])",
     "StaticCLib 'a': copts must be a list of strings, found int 3"),
    ("env.StaticCLib('a', srcs=['missing.c'])",
     "StaticCLib 'a': srcs: file not found: missing.c (hint: paths are relative to the SConscript"),
    ("env.StaticCLib('a', srcs=[])",
     "StaticCLib 'a': srcs is empty"),
    ("env.StaticCLib('a', srcs=['a.c'], deps=['nope'])",
     "StaticCLib 'a': deps: 'nope': no library of that name is declared (yet)"),
    ("env.StaticCLib('a', srcs=['a.c'], deps=[File('a.c')])",
     "StaticCLib 'a': deps: 'a.c' is not a library declared with"),
    ("env.StaticCLib('a\\nb', srcs=['a.c'])",
     "StaticCLib 'a\\nb': the first argument must be the target's name"),
    ("env.SourceArchive('../../../x', urls=['file:///x.tgz'], sha256='0' * 64)",
     "SourceArchive '../../../x': the first argument must be the target's name"),
    ("env.SourceArchive('', urls=['file:///x.tgz'], sha256='0' * 64)",
     "SourceArchive: the first argument must be the target's name"),
    ("env.SourceArchive(7, urls=['file:///x.tgz'], sha256='0' * 64)",
     "SourceArchive 'int 7': the first argument must be the target's name"),
    ("env.SourceArchive('x', urls=['file:///x.tgz'], sha256='0' * 64, max_bytes=-1)",
     "SourceArchive 'x': max_bytes must be a positive whole number, not -1"),
    ("env.ForeignCLib('f', source=Dir('nodir'), build='make', outputs=['lib/libf.a'])",
     "ForeignCLib 'f': source 'nodir' is neither a SourceArchive nor an existing directory"),
    ("env.ForeignCLib('f', source='sub', build='make', outputs=['lib/libf.a'], install_prefix='/../../../tmp/x')",
     "ForeignCLib 'f': install_prefix must be an absolute path such as '/usr/local', without '..'"),
    ("env.ForeignCLib('f', source='sub', build='make', outputs=['lib/libf.a'], install_prefix=5)",
     "ForeignCLib 'f': install_prefix must be an absolute path such as '/usr/local', without '..', not 5"),
    ("env.GoCgoBinary('app', package='..')",
     "GoCgoBinary 'app': package '..' must stay inside the module root"),
    ("env.GoCgoBinary('app', package='./lib')",
     "GoCgoBinary 'app': package ./lib is not a main package (package lib)"),
    ("env.GoCgoBinary('app', package='.', x_defs={'main.v': 'it\\'s \"q\" x'})",
     "GoCgoBinary 'app': x_defs: "),
    ("env.GoCgoBinary('app', package='.', x_defs={'version': 'x'})",
     "GoCgoBinary 'app': x_defs: 'version' must name a variable as 'importpath.name'"),
    ("env.StaticCLib('a/b', srcs=['a.c'])",
     "StaticCLib 'a/b': the first argument must be the target's name"),
    ("env.GoCgoBinary('app', package='.', platforms=['linux/riscv64'])",
     "GoCgoBinary 'app': platforms: unsupported architecture 'riscv64'"),
    ("env.GoCgoBinary('app', package='.', platforms=['linux'])",
     "GoCgoBinary 'app': platforms: platform 'linux' is not of the form os/arch[/libc]"),
    ("env.GoCgoBinary('app', package='./cmd/none')",
     "GoCgoBinary 'app': package directory"),
    ("env.GoCgoBinary('app', package='../out')",
     "GoCgoBinary 'app': package '../out' must stay inside the module root"),
    ("env.GoCgoBinary('app', package='.', toolchain='clang')",
     "GoCgoBinary 'app': unknown toolchain 'clang' (hint: use one of auto, zig, musl-gcc)"),
    ("env.GoCgoBinary('app', package='.', strip='yes')",
     "GoCgoBinary 'app': strip must be True or False, not 'yes'"),
    ("env.GoCgoBinary('app', package='.', x_defs=['a=b'])",
     "GoCgoBinary 'app': x_defs must be a dict"),
    ("env.GoCgoBinary('app', package='.', verify={'hardening.gnustack': 'x'})",
     "GoCgoBinary 'app': verify: unknown check 'hardening.gnustack' (did you mean 'hardening.gnu-stack'?)"),
    ("env.StaticCLib('a', srcs=['a.c'], verify={'stripped': ''})",
     "StaticCLib 'a': verify: relaxing 'stripped' needs a stated reason"),
    ("env.GoCgoBinary('app', package='.', module='sub')",
     "GoCgoBinary 'app': no go.mod found at or above"),
]


@pytest.mark.parametrize("call, message", CASES, ids=[c[1].split(":")[1].strip()[:40] for c in CASES])
def test_read_time_errors(project, call, message):
    project.write("go.mod", GO_MOD)
    project.write("main.go", MAIN_GO)
    project.write("a.c", "int a;\n")
    project.write("a.h", "")
    project.write("sub/x.txt", "")
    project.write("lib/lib.go", "package lib\n")
    project.write("SConstruct", HEADER + call + "\n")
    result = project.scons(check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("scons: *** sconsrules: ")
    assert lines[1] == f'File "{project.path("SConstruct")}", line 2, in <module>'


def test_bad_cli_platform(project):
    project.write("go.mod", GO_MOD)
    project.write("main.go", MAIN_GO)
    project.write("a.h", "")
    project.write("SConstruct", HEADER + "env.GoCgoBinary('app')\n")
    result = project.scons("--platforms=linux/mips", check=False)
    assert result.returncode == 2
    assert "GoCgoBinary 'app': --platforms: unsupported architecture 'mips'" in result.stderr


def test_a_name_declared_twice_names_both_places(project):
    project.write("a.c", "int a;\n")
    project.write("SConstruct", HEADER + "env.StaticCLib('a', srcs=['a.c'])\nenv.StaticCLib('a', srcs=['a.c'])\n")
    result = project.scons(check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    first = f'File "{project.path("SConstruct")}", line 2'
    assert f"StaticCLib 'a': the name is already declared in this directory by StaticCLib at {first}" in result.stderr
    assert f'File "{project.path("SConstruct")}", line 3, in <module>' in result.stderr


def test_foreign_env_is_an_attribute_not_a_clash(project):
    """`env=` (documented) reaches the rule instead of colliding with the SCons environment."""
    project.write("src/Makefile", "all:\n")
    project.write("SConstruct", HEADER + "env.ForeignCLib('f', source='src', build='make', outputs=['lib/libf.a'], "
                  "env={'ZZ_MARK': 'on'})\n")
    result = project.scons("-n", "--platforms=linux/amd64", "--toolchain=zig", check=False)
    assert "TypeError" not in result.output and "multiple values" not in result.output
    assert result.returncode == 0, result.output


def test_an_unreadable_signature_database_is_set_aside(project):
    project.write("SConstruct", HEADER)
    project.write(".sconsign.dblite", "Iabc\n.")
    result = project.scons()
    assert "sconsrules: warning: .sconsign.dblite could not be read (ValueError" in result.stdout
    assert "Traceback" not in result.output and "ValueError :" not in result.stderr
    assert project.read(".sconsign.dblite.unreadable") == "Iabc\n."
    assert "could not be read" not in project.scons().stdout
