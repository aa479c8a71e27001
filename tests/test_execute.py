"""The step runner on its own: inputs checked before linking, outputs verified before their final name."""
import os
import sys

import pytest

from sconsrules.actions import Command, Outputs, Step, Verification
from sconsrules.errors import RuleError
from sconsrules.execute import NativeExecutor, perform
from sconsrules.configure.platform import Platform
from sconsrules.verify import Policy

AMD64 = Platform.parse("linux/amd64")


def copy_step(src, out, prechecks=()):
    return Step("GoCgoBinary", "app", "linux-amd64-musl-zig", "link",
                (Command([sys.executable, "-c", f"import shutil; shutil.copy({src!r}, {out + '.sconsrules-tmp'!r})"]),),
                # Debian's musl libc.a names its own build directory in the copied binary's DWARF
                Outputs(out), Verification(Policy(AMD64, dwarf_allow=("/build/",)), prechecks=prechecks))


def test_glibc_built_archive_is_refused_before_linking(corpus, tmp_path):
    out = str(tmp_path / "app")
    step = copy_step(corpus.path("musl-static"), out,
                     prechecks=((corpus.path("libglibc.a"), Policy(AMD64)),))
    with pytest.raises(RuleError) as err:
        perform(step, NativeExecutor())
    message = err.value.line()
    assert "verify failed for input libglibc.a: archive.glibc-refs" in message and "__snprintf_chk" in message
    assert not os.path.exists(out)


def test_good_output_takes_its_name_and_bad_output_leaves_nothing(corpus, tmp_path):
    out = str(tmp_path / "app")
    perform(copy_step(corpus.path("musl-static"), out), NativeExecutor())
    assert os.path.exists(out)
    with pytest.raises(RuleError, match=r"verify failed: .*link\.interp"):
        perform(copy_step(corpus.path("glibc-dynamic"), out), NativeExecutor())
    assert not os.path.exists(out) and not os.path.exists(out + ".sconsrules-tmp")
    with pytest.raises(RuleError, match="verify: .*neither an ELF file nor an ar archive"):
        perform(copy_step(corpus.path("random"), out), NativeExecutor())
    assert not os.path.exists(out) and not os.path.exists(out + ".sconsrules-tmp")


def test_a_scripts_stated_cause_is_the_error_and_nothing_is_left(tmp_path):
    out = str(tmp_path / "resolved")
    script = "mkdir -p \"$1\"; echo noise; echo 'sconsrules: error: -lfoo resolves only to libfoo.so'; exit 3"
    step = Step("PkgConfigCLib", "foo", "linux-amd64-musl-zig", "pkg-config foo",
                (Command(["sh", "-c", script, "x", out + ".sconsrules-tmp"]),),
                Outputs(out, kind="tree", members=("libs.rsp",)), Verification(Policy(AMD64), glob="lib/*.a"))
    with pytest.raises(RuleError) as err:
        perform(step, NativeExecutor())
    assert err.value.line() == ("sconsrules: PkgConfigCLib 'foo': [linux-amd64-musl-zig] -lfoo resolves only to "
                                "libfoo.so")
    assert not os.path.exists(out) and not os.path.exists(out + ".sconsrules-tmp")


def test_a_verify_glob_judges_the_matching_files_of_a_directory_output(corpus, tmp_path):
    out = str(tmp_path / "resolved")
    tmp = out + ".sconsrules-tmp"
    script = f"mkdir -p {tmp}/lib/1/usr/lib && echo -lm > {tmp}/libs.rsp && cp \"$1\" {tmp}/lib/1/usr/lib/"
    step = lambda lib: Step("PkgConfigCLib", "z", "linux-amd64-musl-zig", "pkg-config z",  # noqa: E731
                            (Command(["sh", "-c", script, "x", corpus.path(lib)]),),
                            Outputs(out, kind="tree", members=("libs.rsp",)),
                            Verification(Policy(AMD64), glob="lib/*.a"))
    perform(step("libmusl.a"), NativeExecutor())
    assert os.path.isfile(os.path.join(out, "lib/1/usr/lib/libmusl.a"))
    with pytest.raises(RuleError, match=r"verify failed for lib/1/usr/lib/libglibc.a: archive.glibc-refs"):
        perform(step("libglibc.a"), NativeExecutor())
    assert not os.path.exists(out) and not os.path.exists(tmp)


def test_a_missing_member_is_named_and_nothing_is_left(tmp_path):
    out = str(tmp_path / "install")
    tmp = out + ".sconsrules-tmp"
    step = Step("ForeignCLib", "z", "linux-amd64-musl-zig", "make build",
                (Command(["sh", "-c", f"mkdir -p {tmp}/lib && : > {tmp}/lib/libz.a"]),),
                Outputs(out, kind="tree", members=("lib/libz.a", "lib/libzextra.a")), Verification(Policy(AMD64)))
    with pytest.raises(RuleError, match=r"make build did not produce lib/libzextra.a"):
        perform(step, NativeExecutor())
    assert not os.path.exists(out) and not os.path.exists(tmp)


def test_scratch_goes_once_the_output_is_verified_and_stays_after_a_failure(corpus, tmp_path):
    """A foreign build's scratch copy of its sources (148 MB for OpenSSL) is removed once the output is in place;
    after a failure it stays, with the logs a user needs."""
    import attrs
    out, scratch = str(tmp_path / "app"), tmp_path / "app.work"
    make = Command([sys.executable, "-c", f"import os; os.makedirs({str(scratch)!r} + '/src', exist_ok=True)"])
    for src, ok in (("glibc-dynamic", False), ("musl-static", True)):
        step = copy_step(corpus.path(src), out)
        step = attrs.evolve(step, commands=(make,) + step.commands, scratch=(str(scratch),))
        if ok:
            perform(step, NativeExecutor())
        else:
            with pytest.raises(RuleError):
                perform(step, NativeExecutor())
        assert scratch.exists() is not ok and os.path.exists(out) is ok


def test_tool_chatter_goes_to_the_log_and_the_rest_is_shown(corpus, tmp_path, capsys):
    import attrs
    out = str(tmp_path / "app")
    talk = Command([sys.executable, "-c", "print('go: downloading example.com/m v1.2.3'); print('cc: warning: w')"])
    step = copy_step(corpus.path("musl-static"), out)
    perform(attrs.evolve(step, commands=(talk,) + step.commands), NativeExecutor())
    shown = capsys.readouterr().out
    assert "cc: warning: w" in shown and "downloading" not in shown
    with open(out + ".log") as fh:
        assert "go: downloading example.com/m v1.2.3" in fh.read()


def test_a_precheck_that_passed_is_not_repeated_for_the_same_bytes_and_policy(corpus, tmp_path, monkeypatch):
    """A passing precheck is kept (build dir store, keyed by bytes, policy and verifier); the same archive is not
    parsed again, even by a new run; other bytes at the same path (a glibc build copied over it) are verified and
    refused; a failure is never kept."""
    import importlib
    import shutil
    from sconsrules.execute.verdicts import FILE, Verdicts
    perform_module = importlib.import_module("sconsrules.execute.perform")  # the package exports the function
    archive = str(tmp_path / "libdep.a")
    shutil.copy(corpus.path("libmusl.a"), archive)
    out = str(tmp_path / "app")
    step = copy_step(corpus.path("musl-static"), out, prechecks=((archive, Policy(AMD64)),))
    calls = []
    real = perform_module._verify
    monkeypatch.setattr(perform_module, "_verify", lambda *a, **k: calls.append(a[1].split(".sconsrules-tmp")[0])
                        or real(*a, **k))
    perform(step, NativeExecutor(), verdicts=Verdicts(str(tmp_path)))
    assert calls == [archive, out]  # the precheck, then the output
    perform(step, NativeExecutor(), verdicts=Verdicts(str(tmp_path)))  # a new run reads the store
    assert calls == [archive, out, out]
    other = copy_step(corpus.path("musl-static"), out, prechecks=((archive, Policy(AMD64, libc="any")),))
    perform(other, NativeExecutor(), verdicts=Verdicts(str(tmp_path)))  # another policy: verified again
    assert calls[3] == archive
    shutil.copy(corpus.path("libglibc.a"), archive)
    for _ in range(2):
        with pytest.raises(RuleError, match="verify failed for input libdep.a: archive.glibc-refs"):
            perform(step, NativeExecutor(), verdicts=Verdicts(str(tmp_path)))
    with open(tmp_path / FILE) as fh:
        assert len(fh.read().split()) == 2


@pytest.mark.unit
def test_verdict_keys_follow_bytes_policy_and_verifier(tmp_path, monkeypatch):
    from sconsrules.execute import verdicts as module
    path = tmp_path / "f"
    path.write_bytes(b"one")
    key = module.Verdicts.key(str(path), Policy(AMD64))
    assert key == module.Verdicts.key(str(path), Policy(AMD64))
    assert key != module.Verdicts.key(str(path), Policy(AMD64, stripped=True))
    path.write_bytes(b"two")
    assert key != module.Verdicts.key(str(path), Policy(AMD64))
    path.write_bytes(b"one")
    monkeypatch.setattr(module, "verifier_digest", lambda: "another verifier")
    assert key != module.Verdicts.key(str(path), Policy(AMD64))
    store = module.Verdicts(str(tmp_path))
    store.add(key)
    assert module.Verdicts(str(tmp_path)).passed(key) and not module.Verdicts(str(tmp_path)).passed("0" * 64)
    (tmp_path / module.FILE).write_text("garbage\n" + key + "\n")
    assert module.Verdicts(str(tmp_path)).passed(key)  # lines that are not keys are ignored
