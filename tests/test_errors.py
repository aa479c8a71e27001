"""Bad input: one clear line naming the rule, the target and the cause, with a hint; no traceback."""
GO_MOD = "module example.com/e\n\ngo 1.22\n"
MAIN_GO = 'package main\n\n// #include "a.h"\nimport "C"\n\nfunc main() {}\n'
HEADER = "env = Environment(tools=['default', 'sconsrules'])\n"

def test_read_time_error_through_scons(project):
    """The in-process cases (test_analysis.py) print what a real scons run prints: one line, then the caller."""
    project.write("go.mod", GO_MOD)
    project.write("main.go", MAIN_GO)
    project.write("a.h", "")
    project.write("SConstruct", HEADER + "env.GoCgoBinary('app', package='.', strip='yes')\n")
    result = project.scons(check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0] == "scons: *** sconsrules: GoCgoBinary 'app': strip must be True or False, not 'yes'"
    assert lines[1] == f'File "{project.path("SConstruct")}", line 2, in <module>'


def test_bad_cli_platform(project):
    project.write("go.mod", GO_MOD)
    project.write("main.go", MAIN_GO)
    project.write("a.h", "")
    project.write("SConstruct", HEADER + "env.GoCgoBinary('app')\n")
    result = project.scons("--platforms=linux/mips", check=False)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == ("scons: *** sconsrules: --platforms=linux/mips: unsupported architecture 'mips' "
                                     "(supported: amd64, arm64, arm, 386, riscv64, ppc64le, s390x) (hint: a comma-"
                                     "separated list of linux/amd64, linux/arm64, linux/arm/v7, linux/386, "
                                     "linux/riscv64, linux/ppc64le, linux/s390x)")


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
