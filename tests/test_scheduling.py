"""A step's result is retired while SCons still walks (-j2): what waits on it starts before the walk ends, a
failure stops the walk at once, and -k keeps walking. Real SCons scheduler, Python actions, no compiler.

The leaf finishes only once the walk reached the first filler, and the walk waits there until the leaf's result
is queued, so that the order does not depend on how fast this machine is."""
import os
import re

SCONSTRUCT = r'''
import threading
import time

import SCons.Node
import SCons.Script.Main

DefaultEnvironment(tools=[])
env = Environment(tools=["sconsrules"])
walking = threading.Event()


def leaf(target, source, env):
    walking.wait(30)  # finishes only once the walk is among the fillers
    if ARGUMENTS.get("fail"):
        return 1
    with open(str(target[0]), "w") as fh:
        fh.write("leaf\n")


def parent(target, source, env):
    with open(str(target[0]), "w") as fh:
        fh.write("parent\n")


ours = SCons.Script.Main.ProgressObject


def logged(node):
    name = str(node)
    if name.startswith("filler") and leaf_node.get_state() == SCons.Node.executing and not walking.is_set():
        walking.set()
        owner = threading.current_thread().owner
        deadline = time.monotonic() + 30
        while not owner.results_queue and time.monotonic() < deadline:
            time.sleep(0.01)
    ours(node)
    print("visit " + name, flush=True)


Progress(logged)
leaf_node = env.Command("leaf.txt", [], leaf)[0]
env.Command("parent.txt", "leaf.txt", parent)
Default(Alias("all", ["parent.txt"] + [env.Value("filler-%02d" % i) for i in range(20)]))
'''


def visits(result):
    return re.findall(r"^visit (\S+)$", result.stdout, re.M)


def test_a_parent_starts_before_the_walk_ends(project):
    project.write("SConstruct", SCONSTRUCT)
    order = visits(project.scons("-j2"))
    fillers = [i for i, name in enumerate(order) if name.startswith("filler")]
    assert len(fillers) == 20, order
    assert order.index("parent.txt") < fillers[-1], order  # prepared while fillers were still to be walked
    assert project.read("parent.txt") == "parent\n"


def test_a_failure_retired_mid_walk_stops_it_and_keep_going_walks_on(project):
    project.write("SConstruct", SCONSTRUCT)
    failed = project.scons("-j2", "fail=1", check=False)
    assert failed.returncode == 2, failed.output
    assert "leaf.txt" in failed.stderr and "Traceback" not in failed.output
    order = visits(failed)
    assert "parent.txt" not in order
    assert sum(name.startswith("filler") for name in order) == 1, order  # stopped where the failure was retired
    kept = project.scons("-j2", "-k", "fail=1", check=False)
    assert kept.returncode == 2
    order = visits(kept)
    assert "parent.txt" not in order and sum(name.startswith("filler") for name in order) == 20, order


def test_what_was_retired_mid_walk_is_recorded_and_the_next_build_does_nothing(project):
    project.write("SConstruct", SCONSTRUCT)
    project.scons("-j2")
    built = {name: os.stat(project.path(name)).st_mtime_ns for name in ("leaf.txt", "parent.txt")}
    again = project.scons("-j2")
    assert {name: os.stat(project.path(name)).st_mtime_ns for name in built} == built, again.output
