"""The builder's command server (execute/channel.py), run by this machine's sh exactly as a builder container
runs it (the same script, the same directory protocol), so the protocol is tested without an engine; the
container tests run it inside real builders."""
import os
import subprocess
import threading
import time

import pytest

from sconsrules.execute import channel
from sconsrules.execute.channel import Channel, ChannelGone

pytestmark = pytest.mark.unit


@pytest.fixture
def server(tmp_path):
    ch = Channel(str(tmp_path), "builder")
    ch.prepare()
    proc = subprocess.Popen(["sh", "-c", channel.SERVER, ch.directory, "0"], start_new_session=True)
    deadline = time.monotonic() + 10
    while not ch.answers() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield ch, proc
    os.killpg(proc.pid, 9)
    proc.wait()


def test_a_command_runs_with_its_directory_environment_status_and_output(server, tmp_path):
    ch, _ = server
    (tmp_path / "w").mkdir()
    text = channel.script(["sh", "-c", 'echo "$A|$B|$(pwd)"; echo err >&2; exit 3'],
                          {"A": "it's a 'quoted' value", "B": "$HOME `x`"}, str(tmp_path / "w"))
    status, output = ch.run(text)
    assert status == 3
    assert output.decode().splitlines() == [f"it's a 'quoted' value|$HOME `x`|{tmp_path / 'w'}", "err"]
    assert sorted(os.listdir(ch.directory)) == ["alive", "requests"]  # nothing left behind


def test_a_missing_tool_is_said_as_the_engine_says_it(server):
    ch, _ = server
    status, output = ch.run(channel.script(["no-such-tool-here", "-c"], {}, None))
    assert status == 127 and b"executable file not found" in output


def test_a_name_sh_cannot_export_is_left_to_the_engine():
    assert channel.script(["true"], {"A-B": "1"}, None) is None


def test_commands_run_at_once_and_each_gets_its_own_answer(server):
    ch, _ = server
    results = {}

    def one(n):
        results[n] = ch.run(channel.script(["sh", "-c", f"sleep 0.3; echo {n}; exit {n}"], {}, None))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - start < 2.0  # eight 0.3 s commands, not one after the other
    assert results == {n: (n, f"{n}\n".encode()) for n in range(8)}


def test_a_server_that_ends_mid_command_is_reported_not_waited_for(server):
    ch, proc = server
    killer = threading.Timer(0.5, lambda: os.killpg(proc.pid, 9))
    killer.start()
    start = time.monotonic()
    with pytest.raises(ChannelGone):
        ch.run(channel.script(["sleep", "30"], {}, None))
    assert time.monotonic() - start < channel.POLL_MS / 1000 + 3
    assert not ch.answers()
    with pytest.raises(ChannelGone):
        ch.run(channel.script(["true"], {}, None))


def test_a_kept_server_ends_when_left_idle_and_stays_while_touched(tmp_path):
    ch = Channel(str(tmp_path), "kept")
    ch.prepare()
    proc = subprocess.Popen(["sh", "-c", channel.SERVER, ch.directory, "1"], start_new_session=True)
    try:
        for _ in range(4):  # touched more often than the idle period: it stays
            time.sleep(0.5)
            ch.touch()
            assert proc.poll() is None
        proc.wait(timeout=10)  # then left alone: its main process ends (and with it, in a builder, the container)
    finally:
        try:
            os.killpg(proc.pid, 9)  # the server loop, which a container's end would stop
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0


def test_a_hostile_command_cannot_make_the_host_read_or_write_elsewhere(server, tmp_path):
    """What runs in a builder can change everything in the channel's directory: the host still reads no file
    it points at, and writes nothing outside."""
    ch, _ = server
    secret = tmp_path / "secret"
    secret.write_text("TOP SECRET\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    swap = (f'for f in "$D"/*.out; do rm -f "$f"; ln -s {secret} "$f"; done; '
            f'rm -f "$D/alive"; ln -s {outside}/created "$D/alive"; echo done')
    status, output = ch.run(channel.script(["sh", "-c", swap], {"D": ch.directory}, None))
    assert status == 0 and b"SECRET" not in output and b"no output file" in output
    with pytest.raises(OSError):
        ch.touch()  # `alive` is a symlink now: not followed
    assert list(outside.iterdir()) == []
    os.unlink(os.path.join(ch.directory, channel.REQUESTS))
    with open(os.path.join(ch.directory, channel.REQUESTS), "w"):
        pass  # a regular file where the FIFO was: no server reads it
    assert not ch.answers()
    with pytest.raises(ChannelGone):
        ch.run(channel.script(["true"], {}, None))


def test_prepare_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "cache"
    root.mkdir()
    os.symlink(elsewhere, root / "builders")
    ch = Channel(str(root), "b")
    ch.prepare()
    try:
        assert list(elsewhere.iterdir()) == [] and not os.path.islink(root / "builders")
        assert sorted(os.listdir(root / "builders" / "b")) == ["alive", "requests"]
    finally:
        ch.remove()
    assert os.listdir(root / "builders") == []
