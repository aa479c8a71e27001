"""Finished steps retired during the walk, so that what waits on them starts while SCons still walks.

SCons's parallel scheduler (NewParallel, -j2 and up) has one thread walk the graph while the others run
commands; a command's result is retired (the node marked built, its parents told) only when a thread next
starts a walk, which is after the current one finds a command to run or ends. After an edit every other node
is up to date, so the walk goes to the end: an edited C file compiles at once, but its archive and the binaries
above it waited for the whole walk (about the null build's time) before they could start, one after the other.

`retire_finished()` runs in the walking thread at each node it prepares (our Progress hook) and does what the
scheduler does at the start of a walk: it takes the queue of finished tasks under the queue's lock and retires
them, while the walking thread holds the scheduler's lock as the scheduler itself does. A parent made ready
is then the next candidate, handed to an idle thread as any other step. Nothing happens with -j1, with the
legacy scheduler, or with an SCons whose scheduler lacks these fields.
"""
import threading

import SCons.Errors

try:
    from SCons.Taskmaster.Job import NewParallel, interrupt_msg
except ImportError:  # an SCons without the new scheduler
    NewParallel, interrupt_msg = None, ""

_FIELDS = ("results_queue_lock", "jobs", "interrupted")


def retire_finished() -> None:
    """Retire the tasks other threads finished, from the thread that walks (it holds the scheduler's lock)."""
    owner = getattr(threading.current_thread(), "owner", None)
    if NewParallel is None or not isinstance(owner, NewParallel) or not getattr(owner, "results_queue", None):
        return
    if not all(hasattr(owner, name) for name in _FIELDS):
        return
    with owner.results_queue_lock:
        finished, owner.results_queue = owner.results_queue, []
    for task, ok in finished:
        if ok:
            task.executed()
        else:
            if owner.interrupted():
                try:
                    raise SCons.Errors.BuildError(task.targets[0], errstr=interrupt_msg)
                except SCons.Errors.BuildError:
                    task.exception_set()
            task.failed()
        task.postprocess()
        owner.jobs -= 1
