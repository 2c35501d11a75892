"""Reports over grid results: Markdown, HTML, JSON, CSV and JUnit per hardware class, and run comparison.

Layout, one way down: `formats` (the table of formats, `write_reports`) → `render/` (one module per format, and the
compare Markdown) → `model` (`ReportData`, `build_report`) → `analysis`, `issues` (the figures) → `dataset` (DuckDB
over the Parquet files) and `statuses`; `compare` computes a run comparison. Imports only grid.core and grid.store.

Never imports mlx: the aggregator runs on the driver, in CI and on laptops without Apple silicon.
"""

from aggregator.dataset import ReportError, list_runs, open_results
from aggregator.formats import DEFAULT_FORMATS, FORMATS, Format, parse_formats, write_reports
from aggregator.model import ReportData, build_report

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "Format",
    "ReportData",
    "ReportError",
    "build_report",
    "list_runs",
    "open_results",
    "parse_formats",
    "write_reports",
]
