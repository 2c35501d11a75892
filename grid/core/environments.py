"""Package environments: named sets of pins a suite runs its cells in (the version axis of the grid).

`environments:` in a suite lists them, e.g. `{id: vlm-0.7.9, packages: ["mlx-vlm==0.7.9"]}`; absent means the node's
own environment. Each becomes a Ray runtime_env (grid.driver.envs), built once per node and cached by Ray. Pure
Python: the driver, the agent and the aggregator all read these types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENV_BUILD_ERROR = "EnvBuildError"  # error_class of the skipped rows of an environment that could not be built
# What a pin may look like: a requirement name with an optional version specifier (no URLs, no options).
_PIN = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*((==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*,?\s*)*$"
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# The distributions whose versions every row carries (read inside the child: agent.provenance).
PROVENANCE = {
    "mlx_version": "mlx",
    "mlx_metal_version": "mlx-metal",
    "mlx_cuda_version": "mlx-cuda",
    "mlx_cpu_version": "mlx-cpu",
    "mlx_vlm_version": "mlx-vlm",
    "mlx_lm_version": "mlx-lm",
    "transformers_version": "transformers",
    "huggingface_hub_version": "huggingface-hub",
    "tokenizers_version": "tokenizers",
}


@dataclass(frozen=True)
class Environment:
    id: str
    packages: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.id} ({', '.join(self.packages)})"


def pin_problem(pin: str) -> str | None:
    """Why `pin` is not a requirement grid accepts (None when it is)."""
    if not isinstance(pin, str) or not pin.strip():
        return "expected a requirement such as mlx-vlm==0.7.9"
    if not _PIN.match(pin.strip()):
        return f"{pin!r} is not a requirement such as mlx-vlm==0.7.9 (no URLs or pip options)"
    return None


def id_problem(ident: str) -> str | None:
    if not isinstance(ident, str) or not _ID.match(ident):
        return f"{ident!r} is not an environment id (letters, digits, '.', '_', '-')"
    return None


def package_name(pin: str) -> str:
    """The normalised distribution name of a pin: `MLX_VLM==0.7.9` -> `mlx-vlm`."""
    name = re.split(r"[\[=<>~!\s]", pin.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def conflicting_pins(packages: tuple[str, ...]) -> str | None:
    """Two different pins of one package in one environment (`mlx-vlm==0.7.9` and `mlx-vlm==0.7.10`)."""
    seen: dict[str, str] = {}
    for pin in packages:
        name = package_name(pin)
        if name in seen and seen[name].replace(" ", "") != pin.replace(" ", ""):
            return f"conflicting pins {seen[name]!r} and {pin!r}"
        seen[name] = pin
    return None


def version_key(version: str) -> tuple:
    """A sort key for release versions (0.7.10 after 0.7.9; pre-releases before their release)."""
    parts = []
    for piece in re.split(r"[.+-]", version):
        m = re.match(r"^(\d+)(.*)$", piece)
        parts.append((int(m.group(1)), m.group(2) or "~") if m else (-1, piece))
    return tuple(parts)
