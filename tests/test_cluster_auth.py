"""Ray token auth for clusters grid starts: the token is created private, never overwritten, and clients use it."""

from __future__ import annotations


def test_token_is_created_private_and_clients_use_it(tmp_path, monkeypatch):
    from grid.lab import cluster

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


def test_a_readable_token_is_repaired_and_auth_errors_are_advice(tmp_path, monkeypatch):
    from grid.lab import cluster

    path = tmp_path / "auth_token"
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(path))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    path.write_text("a" * 64)
    path.chmod(0o644)  # as Ray's own embedded start writes it
    told = []
    assert cluster.secure_token_file(path, warn=told.append) is True
    assert path.stat().st_mode & 0o777 == 0o600 and "0600" in told[0] and str(path) in told[0]
    assert cluster.secure_token_file(path) is False  # already private: nothing to do
    assert cluster.ensure_token().read_text() == "a" * 64
    missing = cluster.auth_advice(RuntimeError("AuthenticationError: Missing authentication token"))
    assert str(path) in missing and "copy the head's" in missing
    assert cluster.auth_advice(RuntimeError("connection refused")) is None
