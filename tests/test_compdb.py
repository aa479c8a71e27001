"""compile_commands.json entries exported by foreign builds: the path-free copy kept in the install tree, and its
reading back (the build system's output, so not trusted)."""
import json
import os
import subprocess

import pytest

from sconsrules.actions.commands import EXPORTED_COMPILE_COMMANDS, _export_compile_commands
from sconsrules.compdb import ForeignExport, _exported

pytestmark = pytest.mark.unit


def test_the_scratch_path_becomes_a_placeholder_whatever_characters_it_holds(tmp_path):
    work = str(tmp_path / "a b|&[x].work")
    os.makedirs(work + "/_b")
    with open(work + "/_b/compile_commands.json", "w") as f:
        json.dump([{"directory": f"{work}/_b", "command": f"{work}/.sconsrules-bin/cc -I{work}/inc -c {work}/p.c",
                    "file": f"{work}/p.c"}], f)
    stage = str(tmp_path / "stage")
    subprocess.run(["sh", "-c", _export_compile_commands("_b/compile_commands.json", work, stage)], cwd=work,
                   check=True)
    with open(os.path.join(stage, EXPORTED_COMPILE_COMMANDS)) as f:
        text = f.read()
    assert str(tmp_path) not in text
    assert json.loads(text)[0]["file"] == "@SCONSRULES_SOURCE@/p.c"
    # nothing exported (not a cmake build, or cmake older than 3.5): nothing kept, no failure
    empty = str(tmp_path / "empty")
    subprocess.run(["sh", "-c", _export_compile_commands("_b/none.json", work, empty)], cwd=work, check=True)
    assert not os.path.exists(empty)


def _tree(tmp_path, content):
    path = tmp_path / "tree" / EXPORTED_COMPILE_COMMANDS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return ForeignExport(str(tmp_path / "tree"), "/src/zlib", {"cc": ["/opt/zig", "cc", "-target", "x86_64-linux-musl"]})


def test_entries_point_at_the_pristine_source_and_the_real_compiler(tmp_path):
    export = _tree(tmp_path, [
        {"directory": "@SCONSRULES_SOURCE@/_b", "file": "@SCONSRULES_SOURCE@/a.c", "output": "a.o",
         "command": "@SCONSRULES_SOURCE@/.sconsrules-bin/cc '-DNAME=\"x y\"' -I@SCONSRULES_SOURCE@/inc -c a.c"},
        {"directory": "@SCONSRULES_SOURCE@/_b", "file": "b.c", "arguments": ["/usr/bin/gcc", "-c", "b.c"]}])
    a, b = _exported(export)
    assert a == {"directory": "/src/zlib", "file": "/src/zlib/a.c", "output": "a.o",
                 "arguments": ["/opt/zig", "cc", "-target", "x86_64-linux-musl", "-DNAME=\"x y\"", "-I/src/zlib/inc",
                               "-c", "a.c"]}
    assert b["file"] == "/src/zlib/b.c" and b["arguments"] == ["/usr/bin/gcc", "-c", "b.c"]  # not a wrapper: kept


@pytest.mark.parametrize("content, cause", [
    ("{not json", "Expecting property name"),
    ({"file": "a.c"}, "not a JSON list"),
    ([{"directory": "d", "file": "a.c"}], "'command'"),
    ([{"directory": "d", "file": 3, "command": "cc a.c"}], "must be strings"),
])
def test_a_malformed_export_is_ignored_with_one_warning(tmp_path, capsys, content, cause):
    assert _exported(_tree(tmp_path, content)) == []
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "exported compile commands ignored" in line and cause in line
