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
     "StaticCLib 'a': deps: "),
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
