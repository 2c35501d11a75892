"""From a laptop: submit a run to a lab's head as a Ray Job, follow it, read its logs, cancel it, fetch its files.

Everything goes through the head's Jobs API (the dashboard's HTTP port; with token auth the client reads the Ray token
like every other Ray client). The run's driver executes on the head (`python -m grid run ... --address auto`), writes
rows under the head's results root, and prints `GRID_PROGRESS {json}` lines that `status` reads back. `fetch` runs a
small export job whose output is the run's files as framed, checksummed base64, so no shared filesystem is needed;
with a results root the laptop can reach (s3://..., a shared folder) it copies directly instead.

Secrets: no environment variable of the laptop travels with a job; the run's settings (RunOptions) travel as flags of
its entrypoint. The Hugging Face token reaches workers only through the nodes' own environment.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import shlex
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from grid import store
from grid.core.errors import GridError
from grid.core.options import RunOptions
from grid.driver.progress import last_progress_in_log

DEFAULT_RESULTS = "~/grid-results"  # on the head
DEFAULT_REPORTS = "~/grid-reports"
TERMINAL_JOB_STATES = ("SUCCEEDED", "FAILED", "STOPPED")
# RunOptions field -> the `grid run` flag that sets it on the head (a bool: its on and off spellings)
RUN_OPTION_FLAGS: dict[str, str | tuple[str, str]] = {
    "class_wait_s": "--class-wait",
    "fetch_timeout_s": "--fetch-timeout",
    "spare_children": "--spare-children",
    "sentinel_gap_s": "--sentinel-gap",
    "preimport": ("--preimport", "--no-preimport"),
    "measure_bandwidth": ("--measure-bandwidth", "--no-measure-bandwidth"),
    "mlx_device": "--mlx-device",
    "trace_path": "--trace",
}
_BEGIN, _END = "GRID_EXPORT_BEGIN", "GRID_EXPORT_END"


class RemoteError(GridError, RuntimeError):
    """A user-facing problem with the head or a run (one line of advice)."""


def client(dashboard: str):
    """A Jobs API client for the head's dashboard URL (http://HEAD:8265), with the Ray token when there is one."""
    from grid.driver.ray_auth import auth_advice, use_token_if_available

    use_token_if_available()  # before the SDK's first request: Ray caches the auth mode
    from ray.job_submission import JobSubmissionClient

    if not dashboard.startswith(("http://", "https://")):
        raise RemoteError(f"--dashboard must be the head's dashboard URL, e.g. http://HEAD:8265 (got {dashboard!r})")
    try:
        return JobSubmissionClient(dashboard)
    except Exception as e:  # connection refused, auth failure: one line, not a traceback
        raise RemoteError(
            auth_advice(e) or f"cannot reach the Jobs API at {dashboard}: {str(e).splitlines()[0] if str(e) else e}"
        ) from None


def submission_id(run_id: str) -> str:
    return f"grid-{run_id}"


def _head_path(path: str) -> str:
    """Quote a head-side path for the entrypoint shell, leaving a leading ~/ to expand on the head."""
    if path.startswith("~/"):
        return "~/" + shlex.quote(path[2:])
    return shlex.quote(path)


def _stage_suite(suite, folder: Path) -> str:
    """Write the (validated) suite and only the image files it names into a fresh folder that becomes the job's
    working_dir: never the user's whole suite directory."""
    data = {k: v for k, v in dataclasses.asdict(suite).items() if k != "source"}
    (folder / "images").mkdir()
    images = []
    for i, im in enumerate(data["images"]):
        if im.get("path"):
            name = f"{i}-{Path(im['path']).name}"
            (folder / "images" / name).write_bytes(Path(im["path"]).read_bytes())
            im = {**im, "path": f"images/{name}"}
        images.append({k: v for k, v in im.items() if v is not None})
    data["images"] = images
    data["models"] = [{k: v for k, v in m.items() if v is not None} for m in data["models"]]
    data["prompts"] = [{k: v for k, v in p.items() if v is not None} for p in data["prompts"]]
    (folder / "suite.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return "suite.yaml"


def option_flags(options: RunOptions | None) -> list[str]:
    """The `grid run` flags for the settings that differ from RunOptions' defaults (the rest the head's own defaults
    and environment decide, as for a run started there)."""
    if options is None:
        return []
    default, flags = RunOptions(), []
    for name, flag in RUN_OPTION_FLAGS.items():
        value = getattr(options, name)
        if value == getattr(default, name):
            continue
        if isinstance(flag, tuple):
            flags.append(flag[0] if value else flag[1])
        else:
            flags += [flag, str(value)]
    return flags


def run_entrypoint(
    suite_file: str, run_id: str, results: str, reports: str, per_node: bool, options: RunOptions | None
) -> str:
    """The job's shell command: the run's driver on the head, with the run's settings as flags."""
    words = ["python", "-m", "grid", "run", shlex.quote(suite_file), "--address", "auto"]
    words += ["--run-id", shlex.quote(run_id), "--results", _head_path(results), "--reports", _head_path(reports)]
    words += ["--per-node"] if per_node else []
    words += [shlex.quote(w) for w in option_flags(options)]
    return " ".join(words)


def submit(
    suite_arg: str,
    dashboard: str,
    results: str = DEFAULT_RESULTS,
    reports: str = DEFAULT_REPORTS,
    run_id: str | None = None,
    per_node: bool = False,
    options: RunOptions | None = None,
) -> str:
    """Validate the suite here, submit its run as a Ray Job, return the run id (the job id is grid-<run id>)."""
    from grid.core.suite import load_suite
    from grid.driver.validate import validate_suite

    suite = load_suite(suite_arg)  # a malformed suite fails here, on the laptop, before anything is sent
    validate_suite(suite, local_folders=False)  # an unknown twin or a bad repo id too; folders are the head's
    run_id = run_id or store.new_run_id(suite.name)
    c = client(dashboard)
    env_vars = {"GRID_PROGRESS_LOG": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="grid-submit-") as staging:
        suite_file = _stage_suite(suite, Path(staging))
        _submit_job(
            c,
            entrypoint=run_entrypoint(suite_file, run_id, results, reports, per_node, options),
            submission_id=submission_id(run_id),
            runtime_env={"working_dir": staging, "env_vars": env_vars},
            metadata={
                "grid_run_id": run_id,
                "grid_suite": suite.name,
                "grid_results": results,
                "grid_reports": reports,
            },
        )
    return run_id


def _submit_job(c, wait_s: float = 180, **kw) -> None:
    """submit_job, retried while the head says its job agent is not ready yet ("No available agent ... try again
    later", a busy or just-started head). Other failures are one line of advice."""
    end = time.monotonic() + wait_s
    while True:
        try:
            c.submit_job(**kw)
            return
        except Exception as e:  # the SDK raises RuntimeError with the HTTP status and the head's message
            text = str(e)
            if "already exists" in text and kw.get("submission_id"):
                return  # an earlier attempt got through before its reply was lost
            if ("try again later" in text or "No available agent" in text) and time.monotonic() < end:
                time.sleep(3)
                continue
            raise RemoteError(
                f"the head refused the job: {text.splitlines()[0] if text else type(e).__name__}"
            ) from None


def _job(c, run_id: str):
    try:
        return c.get_job_info(submission_id(run_id))
    except Exception:
        raise RemoteError(f"no job for run {run_id} on this head (`ray job list` shows the jobs)") from None


def status(dashboard: str, run_id: str) -> dict:
    """The job's state plus the driver's last progress snapshot (cells done by status, groups running per node)."""
    c = client(dashboard)
    info = _job(c, run_id)
    progress = last_progress_in_log(c.get_job_logs(submission_id(run_id)))
    return {
        "run_id": run_id,
        "job_status": str(info.status.value if hasattr(info.status, "value") else info.status),
        "message": info.message or "",
        "progress": progress,
        "results": (info.metadata or {}).get("grid_results"),
    }


def follow(dashboard: str, run_id: str, on_update, poll_s: float = 2.0, timeout_s: float | None = None) -> dict:
    """Call on_update(status) whenever it changes, until the job is terminal."""
    last, end = None, time.monotonic() + timeout_s if timeout_s else None
    while True:
        st = status(dashboard, run_id)
        key = (st["job_status"], repr(st["progress"].get("done")), repr(st["progress"].get("flights")))
        if key != last:
            on_update(st)
            last = key
        if st["job_status"] in TERMINAL_JOB_STATES or (end and time.monotonic() > end):
            return st
        time.sleep(poll_s)


def logs(dashboard: str, run_id: str, raw: bool = False) -> str:
    c = client(dashboard)
    _job(c, run_id)
    text = c.get_job_logs(submission_id(run_id))
    if raw:
        return text
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith(("GRID_PROGRESS ", _BEGIN, _END)))


def cancel(dashboard: str, run_id: str) -> bool:
    c = client(dashboard)
    _job(c, run_id)
    return bool(c.stop_job(submission_id(run_id)))


# --- fetch ----------------------------------------------------------------------------------------------------------------


def export(run_id: str, results: str, reports: str | None, out=sys.stdout) -> None:
    """Runs on the head (inside the export job): the run's folder and its reports as one tar.gz, printed framed."""
    import pyarrow.fs as pafs

    root = store.ResultsRoot.parse(results)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        folder = root.run_dir(run_id)
        infos = root.fs.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True))
        if not infos:
            raise SystemExit(f"run {run_id} not found under {results}")
        for info in infos:
            if info.type == pafs.FileType.File and not info.base_name.startswith("."):
                with root.fs.open_input_stream(info.path) as f:
                    data = f.read()
                _add(tar, f"results/run_id={run_id}/{info.path[len(folder) + 1 :]}", data)
        report_dir = Path(os.path.expanduser(reports)) / run_id if reports else None
        if report_dir and report_dir.is_dir():
            for p in sorted(report_dir.rglob("*")):
                if p.is_file():
                    _add(tar, f"reports/{run_id}/{p.relative_to(report_dir)}", p.read_bytes())
    blob = buf.getvalue()
    out.write(f"{_BEGIN} {run_id} {len(blob)} {hashlib.sha256(blob).hexdigest()}\n")
    encoded = base64.b64encode(blob).decode()
    for i in range(0, len(encoded), 4096):
        out.write(encoded[i : i + 4096] + "\n")
    out.write(f"{_END}\n")
    out.flush()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    tar.addfile(info, io.BytesIO(data))


def unpack_export(log_text: str, to: Path) -> list[Path]:
    """Decode the framed export from a job log, check its length and sha256, extract safely under `to`."""
    lines = log_text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith(_BEGIN + " "))
        end = next(i for i in range(start, len(lines)) if lines[i].startswith(_END))
    except StopIteration:
        raise RemoteError("the export job printed no files (see `grid logs`)") from None
    _, _, size, digest = lines[start].split()
    blob = base64.b64decode("".join(lines[start + 1 : end]))
    if len(blob) != int(size) or hashlib.sha256(blob).hexdigest() != digest:
        raise RemoteError("the fetched archive is corrupt (length or checksum mismatch); fetch again")
    to.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(to, filter="data")  # refuses absolute paths, .. and links out of `to`
        return [to / m.name for m in tar.getmembers() if m.isfile()]


def fetch(
    run_id: str,
    to: Path,
    dashboard: str | None = None,
    results: str | store.ResultsRoot | None = None,
    timeout_s: float = 600,
) -> list[Path]:
    """Copy the run's Parquet files and reports here: through an export job on the head (`dashboard`; `results` is
    then the head's root), or straight from a results root this machine can read (a URI or a shared folder)."""
    if dashboard:
        return _fetch_through_job(client(dashboard), run_id, to, results and str(results), timeout_s)
    if not results:
        raise RemoteError("give --dashboard http://HEAD:8265, or --results for a results root readable from here")
    import pyarrow.fs as pafs

    root = store.ResultsRoot.parse(results)
    dest = to / "results" / f"run_id={run_id}"
    dest.mkdir(parents=True, exist_ok=True)
    pafs.copy_files(
        root.run_dir(run_id),
        str(dest.resolve()),
        source_filesystem=root.fs,
        destination_filesystem=pafs.LocalFileSystem(),
    )
    return sorted(p for p in dest.rglob("*") if p.is_file())


def _fetch_through_job(c, run_id: str, to: Path, results: str | None, timeout_s: float) -> list[Path]:
    """A small export job on the head prints the run's files framed in its log; unpack them under `to`."""
    meta = _job(c, run_id).metadata or {}
    results = results or meta.get("grid_results") or DEFAULT_RESULTS
    reports = meta.get("grid_reports") or DEFAULT_REPORTS
    job = f"grid-fetch-{run_id}-{uuid.uuid4().hex[:6]}"
    _submit_job(
        c,
        entrypoint=f"python -m grid.lab.remote export {shlex.quote(run_id)} {_head_path(results)} {_head_path(reports)}",
        submission_id=job,
        metadata={"grid_fetch": run_id},
    )
    end = time.monotonic() + timeout_s
    while (state := str(c.get_job_status(job).value)) not in TERMINAL_JOB_STATES:
        if time.monotonic() > end:
            c.stop_job(job)
            raise RemoteError(f"export job {job} did not finish in {timeout_s:.0f} s")
        time.sleep(1)
    text = c.get_job_logs(job)
    if state != "SUCCEEDED":
        raise RemoteError(f"export job {job} {state}: {text.strip().splitlines()[-1] if text.strip() else ''}")
    return unpack_export(text, to)


if __name__ == "__main__":  # python -m grid.lab.remote export RUN RESULTS [REPORTS]  (the export job's entrypoint)
    if len(sys.argv) >= 4 and sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        raise SystemExit("usage: python -m grid.lab.remote export RUN_ID RESULTS [REPORTS]")
