"""The run's job slots (-j N), shared the way make's jobserver shares them: each running step holds one, and a
step that has more independent commands (a library's member compiles) runs the extra ones only in slots no
other step holds. So a library left alone at the end of a build uses every core, and two libraries at -j2 run
two compiles, not four.
"""
import threading
from collections import deque


class Slots:
    def __init__(self, capacity=None):
        self._capacity = capacity
        self._used = 0
        self._cond = threading.Condition()

    @property
    def capacity(self) -> int:
        if self._capacity is None:
            import SCons.Script
            self._capacity = max(1, int(SCons.Script.GetOption("num_jobs") or 1))
        return self._capacity

    def hold(self):
        """A step's own slot, held while it runs (SCons starts at most N steps: this waits only while a spare
        compile holds a slot, for the end of that compile)."""
        return _Held(self)

    def _take(self, wanted):
        """Wait for a free slot while `wanted()`; True once one is taken, False when no longer wanted."""
        with self._cond:
            while wanted():
                if self._used < self.capacity:
                    self._used += 1
                    return True
                self._cond.wait()
            return False

    def _give(self):
        with self._cond:
            self._used -= 1
            self._cond.notify_all()

    def _wake(self):
        with self._cond:
            self._cond.notify_all()

    def side_by_side(self, tasks):
        """Run `tasks` (callables): the calling step's thread runs them one after another in its own slot, and
        helpers run more in free slots. After a task raises, no other starts; the first error is raised once
        the running ones end."""
        pending = deque(tasks)
        errors = []
        lock = threading.Lock()

        def next_task():
            with lock:
                if errors or not pending:
                    return None
                task = pending.popleft()
            if not pending:
                self._wake()  # helpers waiting for a slot have nothing left to wait for
            return task

        def work(task):
            try:
                task()
            except BaseException as exc:  # re-raised in the step's thread
                with lock:
                    errors.append(exc)
                self._wake()

        def helper():
            while self._take(lambda: bool(pending) and not errors):
                try:
                    task = next_task()
                    if task is not None:
                        work(task)
                finally:
                    self._give()

        helpers = [threading.Thread(target=helper, daemon=True) for _ in range(min(self.capacity, len(pending)) - 1)]
        for thread in helpers:
            thread.start()
        task = next_task()
        while task is not None:
            work(task)
            task = next_task()
        for thread in helpers:
            thread.join()
        if errors:
            raise errors[0]


class _Held:
    def __init__(self, slots):
        self.slots = slots

    def __enter__(self):
        self.slots._take(lambda: True)

    def __exit__(self, *exc):
        self.slots._give()
