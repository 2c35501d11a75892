"""Root causes a maintainer can act on (issue 12, item 4), on the rows of a real twins run (tests/fixtures/twins-run:
`grid run` of twin:llava, twin:llava_next, twin-broken:abort and twin-broken:hang on this machine's CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator import build_report, open_results
from aggregator.render.markdown import render_markdown
from aggregator.rootcause import analyze, clip, parse, relative_path, scrub, timeout_phase

RUN = Path(__file__).parent / "fixtures" / "twins-run"


@pytest.fixture(scope="module")
def report():
    ds = open_results(RUN, "rc-a")
    try:
        yield build_report(ds)
    finally:
        ds.close()


def _group(report, error_class):
    return next(e for e in report.errors if e.error_class == error_class)


def test_llava_decisive_frame_exception_and_version_change(report):
    e = _group(report, "API Mismatch")
    r = e.root
    assert (r.frame.path, r.frame.line, r.frame.function) == (
        "mlx_vlm/models/llava/processing_llava.py",
        90,
        "__call__",
    )
    assert r.frame.code == "image_inputs = self.image_processor(images, **kwargs)"
    assert r.exception == "TypeError: ImagesKwargs.__init__() got an unexpected keyword argument 'padding'"
    assert "transformers 5.24.0 no longer accepts the keyword `padding`" in r.version_change
    assert e.impact == "breaks the model on every class" and e.severity == "high"
    assert e.messages == [
        (
            "ValueError: Failed to process inputs with error: ImagesKwargs.__init__() got an unexpected keyword "
            "argument 'padding'",
            1,
        )
    ]
    assert "/work/" not in r.traceback and "agent/child.py" not in r.traceback and "/root/" not in r.traceback
    assert 'File "mlx_vlm/models/llava/processing_llava.py", line 90, in __call__' in r.traceback


def test_crash_root_cause_is_the_aborting_frame_of_the_log_tail(report):
    e = _group(report, "Crash")
    assert e.messages == [("child process died (exit code -6)", 1)]
    assert e.root.frame.location == "transformers_modules/broken_hyphen_abort/processing_abort.py:13 in __init__"
    assert e.root.exception == "Fatal Python error: Aborted" and e.root.owner == "model files"


def test_timeout_attributed_by_phase(report):
    e = _group(report, "Timeout")
    t = e.root.timeout
    assert t.phase == "first token" and "loaded in" in t.note and t.owner != "grid"
    slow = timeout_phase("Timeout: run exceeded 30 s", 2.0, 512, 10.0, 1.0)  # 51 s of decoding needed
    assert (slow.phase, slow.owner) == ("decode", "hardware / suite settings") and "≈52 s" in slow.note
    assert timeout_phase("Timeout: load exceeded 30 s", None, 8, None, None).phase == "load"
    assert timeout_phase("Timeout: fetch exceeded 3600 s", None, 8, None, None).owner == "huggingface-hub"


def test_report_markdown_shows_the_root_cause(report):
    md = render_markdown(report)
    assert "**Decisive frame** (`mlx-vlm`): `mlx_vlm/models/llava/processing_llava.py:90 in __call__`" in md
    assert "**Impact**: breaks the model on every class" in md
    assert "**Timeout phase**: first token" in md


def test_clip_never_cuts_mid_word():
    text = "ValueError: Failed to process inputs with error: ImagesKwargs.__init__() got an unexpected keyword"
    out = clip(text, 60)
    assert out.endswith(" …") and len(out) <= 62 and text.startswith(out[:-2])
    kept = out[:-2].split()
    assert text.split()[: len(kept) - 1] == kept[:-1] and text.split()[len(kept) - 1].startswith(kept[-1])
    assert text.split()[len(kept) - 1].rstrip(":,;") == kept[-1]  # whole words only (a trailing colon dropped)
    assert clip("short   text\n here", 60) == "short text here"


def test_paths_are_relative_and_local_paths_scrubbed():
    assert relative_path("/u/x/.venv/lib/python3.11/site-packages/mlx/nn/layers/base.py") == "mlx/nn/layers/base.py"
    assert relative_path("/root/.cache/huggingface/modules/transformers_modules/m/17f8243c7bd2ed01/p.py") == (
        "transformers_modules/m/p.py"
    )
    assert "/root" not in scrub("OSError: /root/.cache/grid/twins/broken-x does not appear to have a file")


def test_chained_traceback_original_cause_wins():
    tb = (
        'Traceback (most recent call last):\n  File "/v/site-packages/mlx_vlm/a.py", line 3, in inner\n    x()\n'
        "KeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "/v/site-packages/mlx_vlm/b.py", line 9, in outer\n'
        "    raise ValueError('wrapped')\nValueError: wrapped\n"
    )
    assert len(parse(tb)) == 2
    r = analyze(tb, "mlx-vlm", {})
    assert r.frame.location == "mlx_vlm/a.py:3 in inner" and r.exception == "KeyError: 'k'"
