"""results.csv: every row and column of the runs, flat (list columns joined with ';')."""

from __future__ import annotations

from pathlib import Path

from aggregator.dataset import ResultsDataset, execute
from aggregator.model import ReportData
from grid.core.schema import RESULT_SCHEMA

CSV_SORT_MAX_ROWS = 200_000


def write_results_csv(d: ReportData, ds: ResultsDataset, path: Path) -> None:
    """Every row and column of the runs, list columns joined with ';', streamed by DuckDB (never held in Python).
    Untrusted text is written as data, quoted as CSV requires; a spreadsheet user should import it as text."""
    cols = []
    for f in RESULT_SCHEMA:
        name = f'"{f.name}"'
        cols.append(f"array_to_string({name}, ';') AS {name}" if f.type.num_fields else name)
    target = str(path).replace("'", "''")
    # Sorted (diffable: a total order, so one cell's rows in several environments never follow file order) up to
    # CSV_SORT_MAX_ROWS; above, sorting every column of every row would cost more memory than
    # the whole report, so rows come in file order.
    order = (
        " ORDER BY model, hw_class, prompt_id, image_id, run_id, env_id, attempt, cell_id"
        if ds.row_count <= CSV_SORT_MAX_ROWS
        else ""
    )
    execute(ds.con, f"COPY (SELECT {', '.join(cols)} FROM raw{order}) TO '{target}' (FORMAT csv, HEADER true)")
