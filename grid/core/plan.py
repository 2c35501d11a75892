"""Planning: a suite and a set of hardware classes become cells; cells sharing a model and a target become one group.

A cell is one model × prompt × image on one hardware class (or one node with --per-node). Its cell_id is a hash of
everything that defines it, so the same suite on the same class gives the same ids: that is what `resume` relies on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from grid.core.environments import Environment
from grid.core.suite import Generation, ImageSpec, ModelSpec, PromptSpec, Suite


@dataclass(frozen=True)
class Cell:
    cell_id: str
    run_id: str
    suite_name: str
    suite_hash: str
    model: ModelSpec
    prompt: PromptSpec
    image: ImageSpec
    generation: Generation
    hw_class: str  # the class it must run on ("" = wherever the driver runs it)
    node_id: str = ""  # set with --per-node
    image_bytes: bytes | None = None  # user images travel with the cell: nodes may not share the driver's disk
    predicted_memory_gb: float | None = None  # set by placement before dispatch (grid.driver.placement.estimate)
    environment: Environment | None = None  # the package pin set it runs in; None = the node's own environment
    env_build_s: float | None = None  # set by grid.driver.envs.prepare: seconds the environment took on the class

    @property
    def env_id(self) -> str:
        return self.environment.id if self.environment is not None else ""

    @property
    def timeout_s(self) -> float:
        return self.model.timeout_s or self.generation.timeout_s

    @property
    def group_key(self) -> tuple[str, str, str, str]:
        return (self.model.id, self.hw_class, self.node_id, self.env_id)


def cell_id_for(
    model: ModelSpec,
    prompt: PromptSpec,
    image: ImageSpec,
    gen: Generation,
    image_digest: str,
    hw_class: str,
    node_id: str = "",
    environment: Environment | None = None,
) -> str:
    defining = {
        "model": model.id,
        "revision": model.revision,
        "trust_remote_code": model.trust_remote_code,
        "memory_limit_gb": model.memory_limit_gb,
        "prompt": [prompt.text, prompt.context],
        "image": [image.builtin, image_digest],
        "generation": asdict(gen),
        "hw_class": hw_class,
        "node_id": node_id,
    }
    if environment is not None:  # only when set: cells of suites without environments keep their ids
        defining["environment"] = [environment.id, list(environment.packages)]
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:20]


def plan_cells(suite: Suite, run_id: str, targets: list[tuple[str, str]]) -> list[Cell]:
    """Cells for every model × prompt × image × environment on every target (hw_class, node_id)."""
    images = []
    for im in suite.images:
        data = Path(im.path).read_bytes() if im.path else None
        digest = hashlib.sha256(data).hexdigest()[:16] if data is not None else ""
        images.append((im, data, digest))
    cells = []
    environments: tuple[Environment | None, ...] = suite.environments or (None,)
    combos = [(t, env, m) for t in targets for env in environments for m in suite.models]
    for (hw_class, node_id), env, model in combos:
        for prompt in suite.prompts:
            for im, data, digest in images:
                cells.append(
                    Cell(
                        cell_id=cell_id_for(model, prompt, im, suite.generation, digest, hw_class, node_id, env),
                        run_id=run_id,
                        suite_name=suite.name,
                        suite_hash=suite.hash,
                        model=model,
                        prompt=prompt,
                        image=im,
                        generation=suite.generation,
                        hw_class=hw_class,
                        node_id=node_id,
                        image_bytes=data,
                        environment=env,
                    )
                )
    return cells


def group_cells(cells: list[Cell]) -> list[list[Cell]]:
    """One group per model and target: one child process loads the model once and serves all its cells."""
    groups: dict[tuple, list[Cell]] = {}
    for c in cells:
        groups.setdefault(c.group_key, []).append(c)
    return list(groups.values())
