"""Ray token auth on the client side of every grid process (driver, laptop commands, nodes): where the token is,
creating it private, and switching a process to token mode once it has one."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def token_path() -> Path:
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def ensure_token() -> Path:
    """Create the cluster token (256 random bits, Ray's own generator) at token_path() unless one exists; 0600.
    An existing token readable by others is made private (Ray's own embedded start writes it 0644)."""
    path = token_path()
    if not path.exists() and not os.environ.get("RAY_AUTH_TOKEN"):
        from ray._private.authentication.authentication_token_generator import generate_new_authentication_token

        _write_private(path, generate_new_authentication_token())
    secure_token_file(path)
    return path


def secure_token_file(path: Path | None = None, warn=None) -> bool:
    """Make a token file readable by its owner only; True if it had to be repaired (and `warn` was told)."""
    path = path or token_path()
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return False
    if not mode & 0o077:
        return False
    path.chmod(0o600)
    if warn:
        warn(f"the Ray token {path} was readable by others (mode {mode:o}); grid made it 0600")
    return True


def token_sources() -> str:
    """Where a client looks for the token, for advice: RAY_AUTH_TOKEN, then RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."""
    return f"RAY_AUTH_TOKEN (unset) and {token_path()}" if not os.environ.get("RAY_AUTH_TOKEN") else "RAY_AUTH_TOKEN"


def use_token_if_available(address: str | None = None) -> bool:
    """Client side (laptop, `grid nodes`, a driver): talk token auth when a token is at hand and RAY_AUTH_MODE is
    unset, so copying the token is all a laptop needs. An explicit RAY_AUTH_MODE always wins. With a head's address
    (a driver), the head is asked first (head_wants_token): against a head started with --no-auth a token lying
    here (any embedded run makes one) must not switch the driver to token mode, which refuses its workers' token-less
    replies and waits for its rows forever.

    Ray reads the mode into its cached config when ray._raylet is first imported, so setting the variable afterwards
    is not enough: the config is re-read, as Ray's own ray.init does (authentication_token_setup._enable_token_auth)."""
    secure_token_file(warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    if "RAY_AUTH_MODE" not in os.environ:
        if address and head_wants_token(address) is False:
            os.environ["RAY_AUTH_MODE"] = "disabled"
        elif os.environ.get("RAY_AUTH_TOKEN") or token_path().exists():
            os.environ["RAY_AUTH_MODE"] = "token"
    sync_ray_config()
    return os.environ.get("RAY_AUTH_MODE") == "token"


def head_wants_token(address: str, timeout_s: float = 5.0) -> bool | None:
    """Does the head at HEAD:PORT check Ray's token? Its GCS is asked for the cluster id without one: UNAUTHENTICATED
    means it does, an answer that it does not; None when that cannot be told ("auto", ray://, no answer in time)."""
    if address == "auto" or "://" in address:
        return None
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    channel = grpc.insecure_channel(address)
    try:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout_s)
        return False
    except grpc.RpcError as e:
        return True if e.code() == grpc.StatusCode.UNAUTHENTICATED else None
    finally:
        channel.close()


def sync_ray_config() -> None:
    """Make this process's cached Ray config follow RAY_AUTH_MODE and the token as they are now. Ray caches both when
    ray._raylet is first imported; a long-lived process (a notebook, a test session) that connected once in another
    mode would otherwise hand its workers one mode and check their replies in the other, and wait forever."""
    if "ray._raylet" in sys.modules:
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


def auth_advice(error: BaseException) -> str | None:
    """One line of advice for a Ray authentication failure (missing or wrong token), naming where grid looked."""
    text = f"{type(error).__name__}: {error}"
    if "AuthenticationError" not in text and "authentication token" not in text.lower() and "401" not in text:
        return None
    if os.environ.get("RAY_AUTH_MODE") != "token":
        return (
            f"the head wants Ray's token and none was found (looked in {token_sources()}): copy the head's "
            "~/.ray/auth_token here (mode 0600) or export RAY_AUTH_TOKEN"
        )
    return (
        f"the head refused this machine's Ray token (from {token_sources()}): copy the head's ~/.ray/auth_token "
        "here again, it may have been regenerated"
    )
