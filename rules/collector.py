"""Python's cycle collector, paused while SCons reads the SConscripts and resumed when it walks the graph.

A run builds a graph of long-lived objects (nodes, executors, our steps) that reference counting alone keeps
right; the collector's full passes traverse all of it again and again as it grows, a quarter of a null build of
4,000 C files. Reading makes no cyclic garbage worth collecting, so the collector waits until the walk starts;
then the graph read so far is frozen (never traversed again) and collection resumes for what the walk makes.
"""
import gc
import threading

import SCons.Script

_lock = threading.Lock()
_paused = False


def pause() -> None:
    """While SCons reads SConscripts (not in a test that declares rules in its own process, which may never
    walk); a collector someone else disabled stays so."""
    global _paused
    with _lock:
        if not _paused and gc.isenabled() and SCons.Script.sconscript_reading:
            gc.disable()
            _paused = True


def resume() -> None:
    """When the walk starts (the first node SCons prepares, when our Progress hook is installed; else the first
    step signature it asks for): the graph read so far leaves the collector's view, and collection resumes."""
    global _paused
    if not _paused:
        return
    with _lock:
        if _paused:
            gc.freeze()
            gc.enable()
            _paused = False
