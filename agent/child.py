"""The isolated child process: it alone imports mlx (through agent.adapter), loads one model and serves its cells.

The parent (agent/runner.py) spawns it with the `spawn` start method and talks over a Pipe:
  ("fetch", {...}) -> {"path", "download_s", "download_bytes"}      model to local disk, before any timer
  ("load",  {...}) -> adapter.load_model info                        timed load
  ("run",   {...}) -> {"cold": {...} | None, "trials": [{...}, ...]} warmup, then timed trials
  ("exit",  {})
Any exception becomes {"error": {...}} with the frames the classifier needs. A segfault or abort kills only this process;
faulthandler writes its stack to the log file the parent reads back.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import sys
import time
import traceback
from pathlib import Path


def _frames(tb) -> list[list]:
    return [[f.filename, f.lineno, f.name] for f in traceback.extract_tb(tb)]


def describe_exception(exc: BaseException) -> dict:
    chain = []
    inner = exc.__cause__ or exc.__context__
    while inner is not None and len(chain) < 5:
        chain.append([type(inner).__name__, str(inner), _frames(inner.__traceback__)])
        inner = inner.__cause__ or inner.__context__
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "frames": _frames(exc.__traceback__),
        "chain": chain,
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _fetch(model: str, revision: str | None) -> dict:
    t0 = time.perf_counter()
    if model.startswith(("twin:", "twin-broken:")):
        from agent.twins import materialize

        path = materialize(model)
    elif Path(model).expanduser().exists():
        path = Path(model).expanduser().resolve()
    else:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(model, revision=revision))
    size = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
    return {"path": str(path), "download_s": time.perf_counter() - t0, "download_bytes": size}


def _limit_memory(limit_gb: float) -> None:
    """Cap the address space at what is mapped now plus `limit_gb`, so allocations past it fail (OOM) here, not the
    whole machine."""
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    cap = mapped + int(limit_gb * 1e9)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _run(adapter, model, processor, p: dict) -> dict:
    def once():
        return adapter.generate_timed(model, processor, p["prompt"], p["image"], p["max_tokens"], p["temperature"],
                                      p["exact_tokens"], p["seed"])

    cold = once() if p["warmup_runs"] > 0 else None  # the first run after load: JIT and caches, recorded apart
    for _ in range(max(p["warmup_runs"] - 1, 0)):
        once()
    return {"cold": cold, "trials": [once() for _ in range(p["trials"])]}


def main(conn, log_path: str) -> None:
    log = open(log_path, "a", buffering=1)
    os.dup2(log.fileno(), 1)  # model code prints; keep it out of the parent's terminal and the protocol
    os.dup2(log.fileno(), 2)
    faulthandler.enable(file=log)
    adapter = model = processor = None
    while True:
        try:
            op, payload = conn.recv()
        except EOFError:
            return
        if op == "exit":
            return
        try:
            if op == "fetch":
                reply = _fetch(payload["model"], payload.get("revision"))
            elif op == "load":
                if payload.get("memory_limit_gb"):
                    _limit_memory(payload["memory_limit_gb"])
                from agent import adapter  # noqa: PLW0621 — imports mlx here, in the child only

                model, processor, reply = adapter.load_model(payload["path"], payload.get("trust_remote_code", False))
                reply["backend"] = adapter.backend_name()
            elif op == "run":
                reply = _run(adapter, model, processor, payload)
            else:
                reply = {"error": {"type": "ValueError", "message": f"unknown op {op}", "frames": [], "chain": [],
                                   "traceback": ""}}
        except BaseException as exc:  # noqa: BLE001 — every failure inside model code is data for the row
            reply = {"error": describe_exception(exc)}
        sys.stdout.flush()
        conn.send(reply)
