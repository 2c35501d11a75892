"""Node truth in a report: per hardware class, the energy the cells took (J per generated token, the meter it came
from) and whether the node stayed steady while it measured (drift sentinel, load, heat, battery, sleep).

Everything here comes from the row columns agent/energy.py, agent/sentinel.py and agent/node_state.py write; nothing
is estimated. A class whose meter could not be read says why (`energy_na_reason`) instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.dataset import ResultsDataset
from aggregator.statuses import OK


@dataclass
class ClassTruth:
    hw_class: str
    cells: int  # ok cells of the class
    energy_source: str  # nvml | rapl | ioreport | n/a | "" (not measured)
    energy_na_reason: str  # why there is no energy figure, when there is none
    energy_cells: int  # cells with an energy figure
    j_per_token_median: float | None  # median over cells of the net J per generated token
    j_per_token_min: float | None
    j_per_token_max: float | None
    avg_power_w_median: float | None  # gross, idle included
    idle_power_w_median: float | None
    sentinel_cells: int  # cells with a sentinel reading before and after
    drift_cells: int  # of those, flagged as drifted
    sentinel_drift_max: float | None  # largest |reading ÷ group − 1|, a fraction
    load_avg_1m_max: float | None
    thermal_max_c: float | None
    throttled_cells: int  # thermal pressure other than nominal
    battery_cells: int  # ran on battery or in low-power mode
    slept_cells: int  # the node slept inside the cell

    @property
    def steady(self) -> bool:
        """No cell drifted, throttled, ran on battery or slept."""
        return not (self.drift_cells or self.throttled_cells or self.battery_cells or self.slept_cells)


@dataclass
class NodeTruth:
    classes: list[ClassTruth] = field(default_factory=list)
    drifted: list[dict] = field(default_factory=list)  # the drift-flagged cells: model, hw_class, prompt, drift
    per_model: list[dict] = field(default_factory=list)  # model, hw_class, J/token and decode tok/s (medians), meter


def analyze_node_truth(ds: ResultsDataset) -> NodeTruth | None:
    """None when no row carries node-truth columns (rows from before they existed): the report then has no section."""
    per_class = ds.records(f"""
        SELECT hw_class,
               count(*) AS cells,
               coalesce(mode(energy_source), '') AS energy_source,
               coalesce(mode(energy_na_reason), '') AS energy_na_reason,
               count(energy_per_token_j) AS energy_cells,
               median(energy_per_token_j) AS jpt_med, min(energy_per_token_j) AS jpt_min,
               max(energy_per_token_j) AS jpt_max,
               median(avg_power_w) AS power_med, median(idle_power_w) AS idle_med,
               count(*) FILTER (WHERE sentinel_drift IS NOT NULL) AS sentinel_cells,
               count(*) FILTER (WHERE drift_flag) AS drift_cells,
               max(sentinel_drift) AS drift_max,
               max(load_avg_1m) AS load_max, max(thermal_max_c) AS thermal_max,
               count(*) FILTER (WHERE thermal_pressure IS NOT NULL AND thermal_pressure <> 'nominal') AS throttled,
               count(*) FILTER (WHERE power_source = 'battery' OR low_power_mode) AS battery,
               count(*) FILTER (WHERE slept_s > 0) AS slept
        FROM rows WHERE status = '{OK}' GROUP BY hw_class ORDER BY hw_class""")
    measured = [
        r for r in per_class if r["energy_source"] or r["sentinel_cells"] or r["load_max"] is not None
    ]  # fmt: skip
    if not measured:
        return None
    truth = NodeTruth(
        classes=[
            ClassTruth(
                r["hw_class"],
                r["cells"],
                r["energy_source"],
                r["energy_na_reason"],
                r["energy_cells"],
                r["jpt_med"],
                r["jpt_min"],
                r["jpt_max"],
                r["power_med"],
                r["idle_med"],
                r["sentinel_cells"],
                r["drift_cells"],
                r["drift_max"],
                r["load_max"],
                r["thermal_max"],
                r["throttled"],
                r["battery"],
                r["slept"],
            )  # fmt: skip
            for r in measured
        ]
    )
    truth.drifted = ds.records(f"""
        SELECT model, hw_class, prompt_id, image_id, sentinel_drift, decode_tps FROM rows
        WHERE status = '{OK}' AND drift_flag ORDER BY sentinel_drift DESC LIMIT 50""")
    truth.per_model = ds.records(f"""
        SELECT model, hw_class, median(energy_per_token_j) AS j_per_token, median(decode_tps) AS decode_tps,
               mode(energy_source) AS energy_source, count(*) AS cells
        FROM rows WHERE status = '{OK}' AND energy_per_token_j IS NOT NULL
        GROUP BY model, hw_class ORDER BY hw_class, j_per_token""")
    return truth
