"""Reports over grid results: Markdown, HTML, JSON, CSV and JUnit per hardware class, and run comparison.

Never imports mlx: the aggregator runs on the driver, in CI and on laptops without Apple silicon.
"""

from aggregator.build import FORMATS, build_report, write_reports
from aggregator.dataset import ReportError, list_runs, open_results

__all__ = ["FORMATS", "ReportError", "build_report", "list_runs", "open_results", "write_reports"]
