"""The cycle collector is paused while SCons reads SConscripts and resumed, with the graph read so far frozen,
when the walk starts; a test declaring rules in its own process (no SConscript) leaves it alone."""
import gc

import pytest
import SCons.Script

from sconsrules import collector


@pytest.fixture
def restore_gc(monkeypatch):
    was = gc.isenabled()
    monkeypatch.setattr(collector, "_paused", False)
    yield
    gc.unfreeze()
    (gc.enable if was else gc.disable)()


@pytest.mark.unit
def test_paused_while_reading_then_resumed_with_the_graph_frozen(restore_gc, monkeypatch):
    monkeypatch.setattr(SCons.Script, "sconscript_reading", 1)
    gc.enable()
    gc.unfreeze()
    collector.pause()
    assert not gc.isenabled()
    graph = [[i] for i in range(1000)]  # what reading makes, still referenced when the walk starts
    collector.resume()
    assert gc.isenabled() and gc.get_freeze_count() >= len(graph)
    collector.resume()  # every step's signature asks: only the first resumes
    assert gc.isenabled()


@pytest.mark.unit
def test_left_alone_outside_a_sconscript_and_when_someone_else_disabled_it(restore_gc, monkeypatch):
    monkeypatch.setattr(SCons.Script, "sconscript_reading", 0)
    gc.enable()
    collector.pause()
    assert gc.isenabled()
    monkeypatch.setattr(SCons.Script, "sconscript_reading", 1)
    gc.disable()
    collector.pause()
    collector.resume()
    assert not gc.isenabled() and gc.get_freeze_count() == 0
