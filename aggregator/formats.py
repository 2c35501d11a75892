"""The one table of report formats (name → file name, writer) and `write_reports`, which fills a folder with them.

Every writer takes the same three arguments, `(data, dataset, path)`: the report model, the open dataset (only the
CSV export and the JUnit details read it) and the file to write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aggregator.dataset import ReportError, ResultsDataset, open_results
from aggregator.drafts import write_drafts
from aggregator.model import ReportData, build_report
from aggregator.render.html import render_html
from aggregator.render.junit import write_junit
from aggregator.render.markdown import render_markdown
from aggregator.render.results_csv import write_results_csv
from aggregator.render.summary_json import write_summary_json

Writer = Callable[[ReportData, ResultsDataset, Path], None]


@dataclass(frozen=True)
class Format:
    name: str  # what --format takes
    file_name: str
    write: Writer
    about: str  # for help texts


def _text(render: Callable[[ReportData], str]) -> Writer:
    def write(data: ReportData, ds: ResultsDataset, path: Path) -> None:
        path.write_text(render(data), encoding="utf-8")

    return write


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("md", "report.md", _text(render_markdown), "the report in Markdown"),
        Format("html", "report.html", _text(render_html), "the report as one self-contained page, with charts"),
        Format("json", "summary.json", write_summary_json, "every figure of the report, for machines"),
        Format("csv", "results.csv", write_results_csv, "every row and column of the runs"),
        Format("junit", "junit.xml", write_junit, "one testcase per model × hardware class, for CI"),
        Format("issues", "issues", write_drafts, "a folder of ready-to-file issue drafts, one per root cause"),
    )
}
DEFAULT_FORMATS = ",".join(FORMATS)  # "md,html,json,csv,junit,issues"


def parse_formats(formats: str | Sequence[str]) -> list[str]:
    """`"md,json"` or `["md", "json"]` → the format names, once each, in the order given."""
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        raise ReportError(f"unknown report format {', '.join(unknown) or '(none)'}; choose from {','.join(FORMATS)}")
    return list(dict.fromkeys(items))


def write_reports(
    results_root: str | Path,
    run_id: str | list[str] | None,
    out_dir: Path,
    formats: str | Sequence[str] = tuple(FORMATS),
    thresholds: Mapping | None = None,
    *,
    reference_class: str | None = None,
    max_table_rows: int = 1000,
    max_tracebacks: int = 50,
    title: str | None = None,
    threads: int | None = None,
    prices: str | Path | None = None,
) -> dict[str, Path]:
    """Write the requested formats for the given runs (None: every run under the root) into `out_dir`.

    Returns {format: path}. Raises ReportError (one line, with advice) for a missing run, an empty run or a bad
    option. `thresholds`: grid.core.quality threshold overrides; when given, quality flags are recomputed from the
    stored outputs."""
    wanted = parse_formats(formats)
    from aggregator.verdict import load_prices

    price_table, currency = load_prices(prices)  # `--prices prices.yaml`: price-performance in the verdict
    ds = open_results(results_root, run_id, threads=threads)
    try:
        data = build_report(
            ds,
            prices=price_table,
            currency=currency,
            thresholds=thresholds,
            reference_class=reference_class,
            max_table_rows=max_table_rows,
            max_tracebacks=max_tracebacks,
            title=title,
        )
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name in wanted:
            fmt = FORMATS[name]
            path = out_dir / fmt.file_name
            tmp = path.with_name(f".{path.name}.tmp")  # readers of the folder never see half a report
            _remove(tmp)
            fmt.write(data, ds, tmp)
            _remove(path)  # a folder format (issues/) replaces the previous folder whole
            tmp.replace(path)
            paths[name] = path
        return paths
    finally:
        ds.close()


def _remove(path: Path) -> None:
    """A folder (recursively) or a file, if there; a plain file is left to `replace`, which is atomic."""
    if path.is_dir():
        import shutil

        shutil.rmtree(path)
