"""The SDK-free engine questions (execute/engine.py): where they go and what a missing engine gives. Their
answers from a real engine are covered by the container tests (image lookup at read time, kept builders)."""
import pytest

from sconsrules.execute import engine

pytestmark = pytest.mark.unit


def test_only_a_unix_socket_is_asked_directly(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.1:2375")
    assert engine.socket_path() is None  # the SDK handles TCP, TLS and SSH
    with pytest.raises(engine.Unreachable):
        engine.image("x")
    monkeypatch.delenv("DOCKER_HOST")
    assert engine.socket_path() == "/var/run/docker.sock"


def test_no_engine_on_the_socket_is_unreachable_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(engine.Unreachable, match="FileNotFoundError"):
        engine.running_containers("a=b")
