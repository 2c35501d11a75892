"""The one result contract: a frozen dataclass, its pyarrow schema and the schema version.

The agent builds `ResultRow`s, the driver writes them to Parquet, the aggregator reads them back. The pyarrow schema is
derived from the dataclass annotations so the two can never drift apart. Units are in the column names.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field

import pyarrow as pa

from grid.core.status import Status

# Not bumped for added columns: readers fill a column an older file lacks with null (grid.store.read_table reads
# with RESULT_SCHEMA, aggregator.dataset selects NULL for it), so version 1 files stay readable as they are.
SCHEMA_VERSION = 1

# A cell ends in exactly one of these (grid.core.status.Status: every status word lives there).
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
TERMINAL_STATUSES: frozenset[str] = frozenset(s.value for s in Status if s.is_terminal)


@dataclass(frozen=True)
class ResultRow:
    # --- identity and provenance -------------------------------------------------------------------------------------
    run_id: str
    cell_id: str
    model: str
    hw_class: str
    status: str  # a grid.core.status.Status value, stored as its plain string
    schema_version: int = SCHEMA_VERSION
    suite_name: str = ""
    suite_hash: str = ""
    model_source: str = ""  # hf | local | twin
    model_revision: str | None = None
    arch: str | None = None  # model_type from config.json
    prompt_id: str = ""
    image_id: str = ""
    hostname: str = ""
    node_id: str = ""
    chip: str = ""  # Apple chip, CPU model or GPU name
    ram_gb: float | None = None
    gpu_cores: int | None = None
    os_name: str = ""
    os_version: str = ""
    backend: str = ""  # metal | cuda | cpu
    python_version: str = ""
    mlx_version: str = ""
    mlx_vlm_version: str = ""
    mlx_lm_version: str = ""
    transformers_version: str = ""
    grid_version: str = ""
    # --- package environment (grid.core.environments; "" / None = the node's own) -----------------------------------
    env_id: str = ""
    env_packages: str = ""  # the environment's pins, comma-separated
    env_build_s: float | None = None  # seconds building (or finding cached) the environment on the node; no timer's
    env_python: str = ""  # the interpreter the child ran (sys.executable inside the child)
    mlx_metal_version: str = ""
    mlx_cuda_version: str = ""
    mlx_cpu_version: str = ""
    huggingface_hub_version: str = ""
    tokenizers_version: str = ""
    started_at: str = ""  # ISO 8601, UTC
    finished_at: str = ""
    attempt: int = 1
    # --- generation settings -----------------------------------------------------------------------------------------
    max_tokens: int | None = None
    temperature: float | None = None
    warmup_runs: int | None = None
    trials: int | None = None
    exact_tokens: bool | None = None
    seed: int | None = None
    # --- settings that can change a measurement (grid.core.options.RunOptions; None: no child ran the cell) --------
    spare_children: int | None = None  # warm spare children kept per node (0: every group's child started cold)
    preimport: bool | None = None  # the child imported mlx-vlm's modules in the background before its first load
    measure_bandwidth: bool | None = None  # a CPU node without a table figure may measure its memory bandwidth
    mlx_device: str | None = None  # "" = the backend's default device; "cpu" = MLX's CPU backend forced
    simulated: bool = False  # the node pretended its class, RAM or working set (grid node join --simulate-*)
    # --- failure -----------------------------------------------------------------------------------------------------
    error_class: str | None = None
    error_package: str | None = None
    error_message: str | None = None
    error_fix: str | None = None
    traceback_tail: str | None = None
    # --- fetch and load (download time is never inside load_s) --------------------------------------------------------
    download_s: float | None = None
    download_bytes: int | None = None
    load_s: float | None = None
    # seconds from the group's child being spawned to its imports done (mlx, mlx_vlm, transformers); a spare imports at
    # low priority while another group runs, so this is how long a spare takes to be ready there (grid.driver.spares)
    child_start_s: float | None = None
    wall_s: float | None = None
    weight_bytes: int | None = None  # all parameters
    decode_weight_bytes: int | None = None  # the language model's: what each decoded token reads
    predicted_memory_gb: float | None = None
    memory_limit_gb: float | None = None
    # --- per-cell medians over the timed trials -----------------------------------------------------------------------
    ttft_s: float | None = None
    prompt_tokens: int | None = None
    prefill_tps: float | None = None
    generation_tokens: int | None = None
    decode_tps: float | None = None
    peak_memory_gb: float | None = None
    processor_s: float | None = None
    vision_s: float | None = None
    prefill_s: float | None = None
    decode_s: float | None = None
    # --- statistics over trials (issue: methodology) ------------------------------------------------------------------
    decode_tps_iqr: float | None = None
    decode_tps_min: float | None = None
    decode_tps_max: float | None = None
    decode_tps_cv: float | None = None
    outlier_trials: list[int] = field(default_factory=list)
    slow_first_run: bool | None = None
    cold_ttft_s: float | None = None
    cold_decode_tps: float | None = None
    bandwidth_gbps: float | None = None
    bandwidth_fraction: float | None = None
    # --- node truth (issue 15): drift sentinel, energy, node state, disk, BLAS ------------------------------------------
    sentinel_group_ms: float | None = None  # agent.sentinel: the group's first reading, right after load
    sentinel_before_ms: float | None = None  # the reading just before this cell (the previous cell's "after")
    sentinel_after_ms: float | None = None  # the reading just after this cell
    sentinel_drift: float | None = None  # largest |before or after ÷ group − 1|
    drift_flag: bool | None = None  # sentinel_drift > agent.sentinel.DRIFT_THRESHOLD: the node drifted in this cell
    energy_j: float | None = None  # agent.energy: median per trial, idle baseline subtracted, J
    avg_power_w: float | None = None  # median per trial, gross (idle included), W
    energy_per_token_j: float | None = None  # net J ÷ generated tokens, median per trial
    idle_power_w: float | None = None  # the node's idle baseline, measured after load, W
    energy_source: str | None = None  # nvml | rapl | ioreport | n/a
    energy_na_reason: str | None = None
    trial_energy_j: list[float] = field(default_factory=list)  # gross J per timed trial
    load_avg_1m: float | None = None  # agent.node_state, read right after the cell
    cpu_freq_mhz: float | None = None
    thermal_max_c: float | None = None
    # macOS: Darwin's thermal pressure level (nominal | moderate | heavy | trapping | sleeping), else pmset -g therm's
    # nominal | warning | throttled-N%
    thermal_pressure: str | None = None
    power_source: str | None = None  # macOS pmset -g batt: ac | battery | ups
    battery_pct: int | None = None
    low_power_mode: bool | None = None
    gpu_temp_c: float | None = None  # NVIDIA nvidia-smi
    gpu_sm_clock_mhz: float | None = None
    gpu_mem_clock_mhz: float | None = None
    gpu_power_w: float | None = None
    gpu_throttle_reasons: str | None = None
    slept_s: float | None = None  # seconds the node slept inside the cell (0: none)
    disk_free_gb: float | None = None  # agent.disk: free space where models land, when the cell was checked
    disk_needed_gb: float | None = None  # the model's predicted download still missing from the cache
    blas: str | None = None  # the BLAS library MLX's CPU kernels used (agent.blas), "" = not known
    # --- raw trials, never dropped ------------------------------------------------------------------------------------
    trial_ttft_s: list[float] = field(default_factory=list)
    trial_prompt_tokens: list[int] = field(default_factory=list)
    trial_prefill_tps: list[float] = field(default_factory=list)
    trial_generation_tokens: list[int] = field(default_factory=list)
    trial_decode_tps: list[float] = field(default_factory=list)
    trial_peak_memory_gb: list[float] = field(default_factory=list)
    trial_wall_s: list[float] = field(default_factory=list)
    trial_processor_s: list[float] = field(default_factory=list)
    trial_vision_s: list[float] = field(default_factory=list)
    trial_prefill_s: list[float] = field(default_factory=list)
    trial_decode_s: list[float] = field(default_factory=list)
    # --- output ------------------------------------------------------------------------------------------------------
    output_text: str | None = None  # untrusted: escape before rendering
    finish_reason: str | None = None
    quality_flags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Status.parse raises ValueError naming every status; the row keeps the plain string (Parquet, equality)
        object.__setattr__(self, "status", Status.parse(self.status).value)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ResultRow:
        """Build a row from a dict (e.g. a Parquet record); unknown keys are ignored, lists come back as lists."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items() if k in names})

    def replace(self, **changes) -> ResultRow:
        return dataclasses.replace(self, **changes)


_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def _arrow_type(annotation) -> tuple[pa.DataType, bool]:
    """Map a field annotation (`float | None`, `list[int]`, ...) to (arrow type, nullable)."""
    hint = annotation
    nullable = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable, hint = True, args[0]
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return pa.list_(_SCALARS[item]), nullable
    return _SCALARS[hint], nullable


def _build_schema() -> pa.Schema:
    hints = typing.get_type_hints(ResultRow)
    fields = []
    for f in dataclasses.fields(ResultRow):
        arrow, nullable = _arrow_type(hints[f.name])
        fields.append(pa.field(f.name, arrow, nullable=True if nullable else f.name not in _REQUIRED))
    return pa.schema(fields, metadata={b"grid_schema_version": str(SCHEMA_VERSION).encode()})


_REQUIRED = ("run_id", "cell_id", "model", "hw_class", "status", "schema_version")
RESULT_SCHEMA: pa.Schema = _build_schema()
COLUMNS: tuple[str, ...] = tuple(RESULT_SCHEMA.names)


def rows_to_table(rows: typing.Iterable[ResultRow]) -> pa.Table:
    return pa.Table.from_pylist([r.to_dict() for r in rows], schema=RESULT_SCHEMA)
