"""The bad-input suite: every case is a real failing input (a suite, an image, a model folder, a misused option, an
unreachable address) run through the real CLI (typer's CliRunner over grid's app), asserting the exit code as
documented (a suite error 2, other user errors 1), exactly one line of advice on stderr and no traceback, no file
created anywhere in the working folder (results and reports roots included), and the earlier run's row intact.
None of them starts Ray: each must fail before it.

The model-folder cases are broken copies of a real smolvlm twin (`grid twins make smolvlm --out DIR`).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grid.cli import app
from grid.core.schema import ResultRow, rows_to_table

runner = CliRunner()
SUITE_ERROR, USER_ERROR = 2, 1


# --- inputs -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_model(tmp_path_factory, grid_cache) -> Path:
    out = tmp_path_factory.mktemp("twin") / "smolvlm"
    result = runner.invoke(app, ["twins", "make", "smolvlm", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "config.json").is_file() and (out / "preprocessor_config.json").is_file()
    return out


def _png(w: int, h: int) -> bytes:
    """A PNG header claiming w x h pixels (the pixel data never needs to exist: the size check reads the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def _real_png(w: int = 64, h: int = 64) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(buf, format="PNG")
    return buf.getvalue()


def suite_with(w: Path, *, models=("twin:smolvlm",), images=None, extra: str = "") -> str:
    lines = ["name: bad", "models:"] + [f"  - {json.dumps(m)}" for m in models]
    if images:
        lines += ["images:"] + [f"  - {json.dumps(im)}" for im in images]
    path = w / "suite.yaml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return str(path)


def image_suite(data: bytes | None, name: str = "img.png", is_dir: bool = False) -> Callable:
    def make(w: Path, good: Path) -> list[str]:
        target = w / name
        if is_dir:
            target.mkdir()
        elif data is not None:
            target.write_bytes(data)
        return ["run", suite_with(w, images=[{"id": "i", "path": name}])]

    return make


def model_copy(mutate: Callable[[Path], None]) -> Callable:
    """A suite whose one model is a broken copy of the good twin."""

    def make(w: Path, good: Path) -> list[str]:
        copy = w / "model"
        shutil.copytree(good, copy)
        mutate(copy)
        return ["run", suite_with(w, models=[str(copy)])]

    return make


def rm(*names: str) -> Callable[[Path], None]:
    return lambda d: [(d / n).unlink() for n in names]


def put(name: str, data: bytes | str) -> Callable[[Path], None]:
    return lambda d: (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def truncate(name: str, keep: int | float) -> Callable[[Path], None]:
    def cut(d: Path) -> None:
        raw = (d / name).read_bytes()
        (d / name).write_bytes(raw[: int(len(raw) * keep) if isinstance(keep, float) else keep])

    return cut


def edit_json(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        data = json.loads((d / name).read_text())
        change(data)
        (d / name).write_text(json.dumps(data))

    return apply


def suite_text(text: str | bytes) -> Callable:
    def make(w: Path, good: Path) -> list[str]:
        path = w / "suite.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["run", str(path)]

    return make


def args(*a: str, setup: Callable[[Path], None] | None = None) -> Callable:
    def make(w: Path, good: Path) -> list[str]:
        if setup:
            setup(w)
        return [x.replace("{w}", str(w)) for x in a]

    return make


SMOKE = "smoke"

# name -> (build the command line in the work folder, exit code, a fragment the one line must hold)
CASES: dict[str, tuple[Callable, int, str]] = {
    # suites
    "suite-binary": (suite_text(os.urandom(64) + b"\0\xff"), SUITE_ERROR, "not a text YAML file"),
    "suite-folder": (args("run", "{w}"), SUITE_ERROR, "is a folder"),
    "suite-unknown-name": (args("run", "smok"), SUITE_ERROR, "no such file or built-in suite"),
    "suite-bad-yaml": (suite_text("name: [unclosed\nmodels: x\n"), SUITE_ERROR, "not valid YAML"),
    "suite-is-a-list": (suite_text("- twin:smolvlm\n"), SUITE_ERROR, "expected a mapping"),
    "suite-unknown-key": (suite_text("name: x\nmodles: [twin:smolvlm]\n"), SUITE_ERROR, "unknown key"),
    "suite-no-models": (suite_text("name: x\nmodels: []\n"), SUITE_ERROR, "models"),
    "suite-models-mapping": (suite_text("name: x\nmodels: {id: twin:smolvlm}\n"), SUITE_ERROR, "non-empty list"),
    "suite-empty-model-id": (suite_text("name: x\nmodels: [{id: ''}]\n"), SUITE_ERROR, "models[0].id"),
    "suite-duplicate-model": (suite_text("name: x\nmodels: [twin:smolvlm, twin:smolvlm]\n"), SUITE_ERROR, "duplicate"),
    "suite-prompt-no-text": (
        suite_text("name: x\nmodels: [twin:smolvlm]\nprompts: [{id: p}]\n"),
        SUITE_ERROR,
        "prompts[0].text",
    ),
    "suite-max-tokens-zero": (
        suite_text("name: x\nmodels: [twin:smolvlm]\ngeneration: {max_tokens: 0}\n"),
        SUITE_ERROR,
        "max_tokens",
    ),
    "suite-temperature-text": (
        suite_text("name: x\nmodels: [twin:smolvlm]\ngeneration: {temperature: hot}\n"),
        SUITE_ERROR,
        "temperature",
    ),
    "suite-timeout-negative": (
        suite_text("name: x\nmodels: [{id: twin:smolvlm, timeout_s: -5}]\n"),
        SUITE_ERROR,
        "timeout_s",
    ),
    # images
    "image-unknown-builtin": (
        suite_text("name: x\nmodels: [twin:smolvlm]\nimages: [{id: i, builtin: sunset}]\n"),
        SUITE_ERROR,
        "unknown image",
    ),
    "image-builtin-and-path": (
        suite_text("name: x\nmodels: [twin:smolvlm]\nimages: [{id: i, builtin: chart, path: a.png}]\n"),
        SUITE_ERROR,
        "exactly one",
    ),
    "image-missing": (image_suite(None), SUITE_ERROR, "not found"),
    "image-folder": (image_suite(None, is_dir=True), SUITE_ERROR, "not found"),
    "image-empty": (image_suite(b""), SUITE_ERROR, "empty (0 bytes)"),
    "image-text": (image_suite(b"this is not a picture\n" * 20), SUITE_ERROR, "not an image"),
    "image-random-jpg": (image_suite(os.urandom(4096), "noise.jpg"), SUITE_ERROR, "not an image"),
    "image-20000x20000": (image_suite(_png(20000, 20000)), SUITE_ERROR, "too large"),
    "image-10000x9000": (image_suite(_png(10000, 9000)), SUITE_ERROR, "too large"),
    "image-truncated-png": (image_suite(_real_png()[:300]), SUITE_ERROR, "does not decode"),
    # twins
    "twin-unknown-arch": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["twin:nope"])),
        SUITE_ERROR,
        "unknown twin architecture",
    ),
    "twin-unknown-size": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["twin:smolvlm@999b"])),
        SUITE_ERROR,
        "no size",
    ),
    "twin-unknown-broken-case": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["twin-broken:nope"])),
        SUITE_ERROR,
        "unknown broken twin",
    ),
    "twin-bad-spec": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["twin:Qwen 2"])),
        SUITE_ERROR,
        "bad twin spec",
    ),
    "twin-not-buildable": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["twin:sam3"])),  # segmentation: no twin
        SUITE_ERROR,
        "cannot be built",
    ),
    # model ids and folders
    "model-relative-missing": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["./models/none"])),
        SUITE_ERROR,
        "does not exist",
    ),
    "model-absolute-missing": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["/nonexistent/grid/model"])),
        SUITE_ERROR,
        "does not exist",
    ),
    "model-nested-missing": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["models/org/name"])),
        SUITE_ERROR,
        "does not exist",
    ),
    "model-not-a-repo-id": (
        args("run", "{w}/suite.yaml", setup=lambda w: suite_with(w, models=["my model!"])),
        SUITE_ERROR,
        "neither a local model folder nor a Hugging Face repo id",
    ),
    "model-file-not-folder": (model_copy(lambda d: None), SUITE_ERROR, "is a file"),  # replaced below
    "model-empty-folder": (model_copy(lambda d: [p.unlink() for p in list(d.iterdir())]), SUITE_ERROR, "config.json"),
    "model-no-config": (model_copy(rm("config.json")), SUITE_ERROR, "config.json: absent"),
    "model-config-invalid-json": (
        model_copy(put("config.json", '{"model_type": "smolvlm",')),
        SUITE_ERROR,
        "config.json: not valid JSON",
    ),
    "model-config-binary": (
        model_copy(put("config.json", b"\xff\xfe\x00bin")),
        SUITE_ERROR,
        "config.json: not a text JSON",
    ),
    "model-config-list": (model_copy(put("config.json", "[1, 2]")), SUITE_ERROR, "expected a JSON object"),
    "model-config-no-model-type": (
        model_copy(edit_json("config.json", lambda c: c.pop("model_type"))),
        SUITE_ERROR,
        "no model_type",
    ),
    "model-no-tokenizer": (model_copy(rm("tokenizer.json")), SUITE_ERROR, "no tokenizer files"),
    "model-tokenizer-invalid-json": (
        model_copy(truncate("tokenizer.json", 0.5)),
        SUITE_ERROR,
        "tokenizer.json: not valid JSON",
    ),
    "model-tokenizer-config-invalid": (
        model_copy(put("tokenizer_config.json", "{nope")),
        SUITE_ERROR,
        "tokenizer_config.json: not valid JSON",
    ),
    "model-no-weights": (model_copy(rm("model.safetensors")), SUITE_ERROR, "no *.safetensors"),
    "model-truncated-weights": (
        model_copy(truncate("model.safetensors", 0.6)),
        SUITE_ERROR,
        "model.safetensors: truncated",
    ),
    "model-weights-header-only": (model_copy(truncate("model.safetensors", 6)), SUITE_ERROR, "no header"),
    "model-weights-random-bytes": (
        model_copy(put("model.safetensors", os.urandom(2048))),
        SUITE_ERROR,
        "model.safetensors",
    ),
    "model-index-missing-shard": (
        model_copy(put("model.safetensors.index.json", json.dumps({"weight_map": {"w": "model-00002.safetensors"}}))),
        SUITE_ERROR,
        "model-00002.safetensors",
    ),
    "model-no-preprocessor-config": (
        model_copy(rm("preprocessor_config.json")),
        SUITE_ERROR,
        "no preprocessor_config.json",
    ),
    "model-preprocessor-invalid-json": (
        model_copy(put("preprocessor_config.json", "{]")),
        SUITE_ERROR,
        "preprocessor_config.json: not valid JSON",
    ),
    "model-auto-map-missing-code": (
        model_copy(edit_json("config.json", lambda c: c.update(auto_map={"AutoConfig": "configuration_x.XConfig"}))),
        SUITE_ERROR,
        "configuration_x.py",
    ),
    # CLI misuse
    "results-is-a-file": (
        args("run", SMOKE, "--results", "{w}/r.txt", setup=lambda w: (w / "r.txt").write_text("x")),
        USER_ERROR,
        "is a file",
    ),
    "results-under-a-file": (
        args("run", SMOKE, "--results", "{w}/r.txt/sub", setup=lambda w: (w / "r.txt").write_text("x")),
        USER_ERROR,
        "is a file",
    ),
    "results-not-writable": (args("run", SMOKE, "--results", "/proc/grid-results"), USER_ERROR, "cannot write"),
    "reports-is-a-file": (
        args("run", SMOKE, "--reports", "{w}/p.txt", setup=lambda w: (w / "p.txt").write_text("x")),
        USER_ERROR,
        "is a file",
    ),
    "reports-not-writable": (args("run", SMOKE, "--reports", "/proc/grid-reports"), USER_ERROR, "cannot write"),
    "results-unknown-scheme": (args("run", SMOKE, "--results", "nope://bucket"), USER_ERROR, "no filesystem"),
    "runs-results-typo": (args("runs", "--results", "{w}/resluts"), USER_ERROR, "no results root"),
    "runs-results-is-a-file": (
        args("runs", "--results", "{w}/r.txt", setup=lambda w: (w / "r.txt").write_text("x")),
        USER_ERROR,
        "is a file",
    ),
    "address-refused": (
        args("run", SMOKE, "--address", "127.0.0.1:1"),
        USER_ERROR,
        "cannot reach the Ray head at 127.0.0.1:1",
    ),
    "address-no-port": (args("run", SMOKE, "--address", "headnode"), USER_ERROR, "is not HEAD:PORT"),
    "address-bad-port": (args("run", SMOKE, "--address", "127.0.0.1:99999"), USER_ERROR, "is not HEAD:PORT"),
    "address-unknown-host": (args("run", SMOKE, "--address", "no-such-host.invalid:6379"), USER_ERROR, "cannot reach"),
    "address-is-dashboard-url": (args("run", SMOKE, "--address", "http://127.0.0.1:8265"), USER_ERROR, "dashboard URL"),
    "twins-make-unknown": (args("twins", "make", "nope", "--out", "{w}/t"), USER_ERROR, "unknown twin architecture"),
}


NO_HINT_YET = {"twins-make-unknown"}  # grid/cli/twins.py raises its UserError without a hint (not this file)


def _file_instead_of_folder(w: Path, good: Path) -> list[str]:
    shutil.copy(good / "config.json", w / "config.json")
    return ["run", suite_with(w, models=[str(w / "config.json")])]


# submit and resume check a suite as `grid run` does, before any cluster is contacted or started
CASES["submit-unknown-twin"] = (
    args(
        "submit",
        "{w}/suite.yaml",
        "--dashboard",
        "http://127.0.0.1:9",
        setup=lambda w: suite_with(w, models=["twin:nope"]),
    ),
    SUITE_ERROR,
    "unknown twin architecture",
)
CASES["resume-rebuild-missing-folder"] = (
    args(
        "resume", "earlier", "--rebuild-manifest", "--suite", "{w}/suite.yaml", "--results", "{w}/results",
        setup=lambda w: suite_with(w, models=["./gone-model"]),
    ),
    SUITE_ERROR,
    "does not exist",
)  # fmt: skip
CASES["model-file-not-folder"] = (_file_instead_of_folder, SUITE_ERROR, "is a file")


# --- the check ------------------------------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


def _earlier_row(w: Path) -> Path:
    """A finished run's row under the default results root: no bad input may touch it."""
    path = w / "results" / "run_id=earlier" / "c0.parquet"
    path.parent.mkdir(parents=True)
    import pyarrow.parquet as pq

    row = ResultRow(run_id="earlier", cell_id="c0", model="twin:smolvlm", hw_class="EPYC-2c-24GB", status="ok")
    pq.write_table(rows_to_table([row]), path)
    return path


def test_the_suite_has_at_least_45_cases():
    assert len(CASES) >= 45


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_of_advice(case, good_model, tmp_path, monkeypatch):
    make, code, fragment = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("GRID_DEBUG", raising=False)
    earlier = _earlier_row(work)
    row_bytes = earlier.read_bytes()
    argv = make(work, good_model)
    if "--results" not in argv and argv[0] == "run":
        argv += ["--results", str(work / "results")]
    before = _tree(work)

    result = runner.invoke(app, argv)

    err = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code, (case, result.exit_code, result.stderr, result.output)
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert fragment in err[0], err[0]
    assert "fix:" in err[0] or case in NO_HINT_YET, err[0]
    assert _tree(work) == before, "a failing command created or changed files"
    assert earlier.read_bytes() == row_bytes


def test_grid_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRID_DEBUG", "1")
    (tmp_path / "suite.yaml").write_text("name: x\nmodels: [twin:nope]\n")
    result = runner.invoke(app, ["run", str(tmp_path / "suite.yaml")])
    assert result.exit_code != 0 and type(result.exception).__name__ == "SuiteError"
