"""Ray token auth for clusters grid starts: the token is created private, never overwritten, and clients use it."""

from __future__ import annotations


def test_token_is_created_private_and_clients_use_it(tmp_path, monkeypatch):
    from grid import cluster

    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "auth_token"))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert cluster.use_token_if_available() is False  # no token yet: nothing switched on
    path = cluster.ensure_token()
    assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_text()) == 64
    assert cluster.ensure_token().read_text() == path.read_text()  # never overwritten
    assert cluster.use_token_if_available() is True
    assert cluster._env(True)["RAY_AUTH_MODE"] == "token" and cluster._env(False)["RAY_AUTH_MODE"] == "disabled"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # an explicit choice wins
    assert cluster.use_token_if_available() is False
