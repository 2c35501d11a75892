"""Ready-to-file issue drafts (issue 12, item 5) from a real twins run (tests/fixtures/twins-run), and the llava
draft's repro command run for real: it must reproduce the error with the installed mlx-vlm and transformers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator import write_reports
from aggregator.dataset import open_results
from aggregator.drafts import drafts
from aggregator.model import build_report

RUN = Path(__file__).parent / "fixtures" / "twins-run"


@pytest.fixture(scope="module")
def report():
    ds = open_results(RUN, "rc-a")
    try:
        yield build_report(ds)
    finally:
        ds.close()


def _llava(report):
    return next(d for d in drafts(report) if d.package == "mlx-vlm")


def test_llava_draft_names_file_keyword_versions_and_repro(report):
    d = _llava(report)
    assert d.title.startswith("[mlx-vlm] API Mismatch in processing_llava.py:90 (__call__)")
    assert "no longer accepts the keyword `padding`" in d.title
    body = d.body
    for needle in (
        "**Package**: mlx-vlm",
        "- transformers: 5.24.0",
        "- mlx-vlm: 0.7.10",
        "- python: 3.11.7",
        "- chip: AMD EPYC",
        "- `twin:llava` on EPYC-2c-24GB",
        "`mlx_vlm/models/llava/processing_llava.py:90 in __call__`",
        "got an unexpected keyword argument 'padding'",
        "grid twins make twin:llava --out ./twin-llava",
        "python -m mlx_vlm.generate --model ./twin-llava --image grid-repro.png --prompt 'Describe this image.'",
        "## What grid already ruled out",
    ):
        assert needle in body, needle
    # trimmed: no grid frames, no local paths
    assert (
        "agent/child.py" not in body and "/work/" not in body and "/root/" not in body and "site-packages/" not in body
    )


def test_every_root_cause_gets_a_file_and_the_folder_is_a_format(report, tmp_path):
    paths = write_reports(RUN, "rc-a", tmp_path, formats="issues")
    files = sorted(p.name for p in paths["issues"].iterdir())
    assert files == [
        "01-mlx-vlm-api-mismatch-call.md",
        "02-model-files-crash-init.md",
        "03-grid-timeout.md",
        "README.md",
    ]
    crash = (paths["issues"] / "02-model-files-crash-init.md").read_text()
    assert "processing_abort.py:13 in __init__" in crash and "--trust-remote-code" in crash
    write_reports(RUN, "rc-a", tmp_path, formats="issues")  # a second write replaces the folder whole


def test_gallery_marks_twins_synthetic(report):
    g = report.gallery
    assert [(e.model, e.prompt_id, e.image_id, e.synthetic) for e in g.entries] == [
        ("twin:llava_next", "describe", "large", True)
    ]
    assert "\n" not in g.entries[0].output


def test_html_escapes_gallery_output(report):
    from dataclasses import replace

    from aggregator.gallery import Gallery, GalleryEntry
    from aggregator.render.html import render_html

    evil = GalleryEntry("m", "p", "i", "H", "<script>alert(1)</script>", ["repetition"], False)
    html = render_html(replace(report, gallery=Gallery([evil], 1)))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.skipif(os.environ.get("GRID_SKIP_REPRO") == "1", reason="GRID_SKIP_REPRO=1")
def test_llava_repro_command_reproduces_the_error(report, tmp_path):
    command = _llava(report).body.split("## Reproduce\n\n```bash\n", 1)[1].split("\n```", 1)[0]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    run = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    assert "got an unexpected keyword argument 'padding'" in run.stderr + run.stdout
    assert "processing_llava.py" in run.stderr + run.stdout
