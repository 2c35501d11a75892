"""materialize(spec) -> folder: build a twin once, deterministically, into the cache; reuse it afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from agent.twins import registry, sizes
from agent.twins.files import TwinFiles, build_atomically, cache_root, write_twin_files
from agent.twins.spec import TwinError, TwinSpec, parse

SEED = 0
# Bump when a change to the build code (not visible in the TwinFiles) must invalidate cached twins.
BUILD_FORMAT = 1
MANIFEST = "twin.json"


def twin_files(spec: TwinSpec) -> TwinFiles:
    """The files of one (unquantized) twin, or TwinError naming what exists."""
    if spec.broken:
        from agent.twins import broken

        return broken.files_for(spec.arch)
    builder = registry.builder_for(spec.arch)
    if builder is None:
        from agent.twins.coverage import NOT_A_GENERATIVE_VLM

        reason = registry.NOT_BUILDABLE.get(spec.arch)
        if spec.arch in NOT_A_GENERATIVE_VLM:
            reason = f"not a generative VLM ({NOT_A_GENERATIVE_VLM[spec.arch]})"
        if reason:
            raise TwinError(f"twin:{spec.arch} cannot be built: {reason}")
        raise TwinError(f"unknown twin architecture {spec.arch!r}; known: {', '.join(sorted(registry.BUILDERS))}")
    if spec.size == "tiny":
        return builder()
    real = sizes.real_size(spec.arch, spec.size)
    if real is None:
        raise TwinError(f"no size {spec.size!r} for twin:{spec.arch}; sizes: {', '.join(sizes.sizes_of(spec.arch))}")
    return builder(real.config, real.preprocessor)


def fingerprint(files: TwinFiles, spec: TwinSpec) -> str:
    data = {"format": BUILD_FORMAT, "seed": SEED, "bits": spec.bits, "files": asdict(files)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _write_manifest(folder: Path, spec: TwinSpec, digest: str, stats: dict) -> None:
    manifest = {"spec": spec.text, "fingerprint": digest, "seed": SEED, **stats}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _is_current(folder: Path, digest: str) -> bool:
    try:
        return json.loads((folder / MANIFEST).read_text()).get("fingerprint") == digest
    except (OSError, ValueError):
        return False


def _retire(folder: Path) -> None:
    """Move a stale build out of the way (rename first, so a concurrent reader never sees a half-deleted folder)."""
    trash = folder.with_name(f".stale-{folder.name}-{os.getpid()}-{time.time_ns()}")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def materialize(spec_text: str, *, cache: Path | None = None) -> Path:
    """Build (or reuse) the twin named by spec_text; return its folder, loadable by mlx_vlm.load."""
    spec = parse(spec_text)
    files = twin_files(spec)
    digest = fingerprint(files, spec)
    root = Path(cache) if cache else cache_root()
    target = root / spec.folder_name
    if target.exists() and not _is_current(target, digest):
        _retire(target)
    if target.exists():
        return target

    if spec.bits:
        base = materialize(TwinSpec(arch=spec.arch, size=spec.size).text, cache=cache)

        def build(tmp: Path) -> None:
            from agent.twins import weights  # imports mlx (with agent.adapter, the only modules that do)

            tmp.rmdir()  # convert wants to create its output folder itself
            weights.quantize(base, tmp, bits=spec.bits, group_size=32)
            _write_manifest(tmp, spec, digest, {"base": str(base), "trust_remote_code": files.trust_remote_code})

    else:

        def build(tmp: Path) -> None:
            from agent.twins import weights

            write_twin_files(files, tmp)
            stats = weights.save_random_weights(
                files.config,
                tmp,
                SEED,
                tie_embeddings=files.tie_embeddings,
                drop_weights=files.drop_weights,
                dtype=files.dtype,
                float32_weights=files.float32_weights,
            )
            _write_manifest(tmp, spec, digest, {**stats, "trust_remote_code": files.trust_remote_code})

    return build_atomically(target, build)
