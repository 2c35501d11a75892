"""What a report pulls into Python, asserted on the query log rather than timed: a 1M-row report regressed from 3.6
to 10.8 CPU s and 1.75 GB (BENCHMARKS.md, "Reports at scale") when a section fetched every cell as a dict."""

from __future__ import annotations

from sample_data import seed_rows, write_root

from aggregator.dataset import open_results
from aggregator.environments import analyze_environments
from aggregator.gallery import gallery


def test_no_environment_section_fetches_no_cells(tmp_path):
    write_root(tmp_path, seed_rows())
    ds = open_results(tmp_path, None)
    fetched = []
    real = ds.records
    ds.records = lambda sql, params=None: fetched.append(sql) or real(sql, params)  # type: ignore[method-assign]
    try:
        assert analyze_environments(ds) is None
        assert fetched == []  # one count in DuckDB decided it
        g = gallery(ds, limit=3)
        assert len(g.entries) == 3 < g.total  # only the shown outputs came to Python
        assert len(fetched) == 1 and "LIMIT 3" in fetched[0]
    finally:
        ds.close()
