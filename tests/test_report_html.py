"""The HTML report in a real headless Chromium (Debian's `chromium` package): it loads with no console error, no
exception and no CSP violation, the script runs, the three SVG charts render with bars, tables sort, hostile model
output stays text. The browser is driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no port, no
websocket library. A negative control proves the harness does see console errors.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sample_data import HOSTILE_OUTPUT, seed_rows, write_root

from aggregator import write_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium")


class Browser:
    """A minimal DevTools-protocol client over chromium's fd 3 (commands in) and fd 4 (replies and events out)."""

    def __init__(self, profile: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds():  # in the child: the pipe ends become fds 3 and 4, inheritable across exec
            # Park both above 10 first: either end may itself be fd 3 or 4, and dup2 onto itself is a no-op that
            # would keep close-on-exec set.
            high_r, high_w = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            preexec_fn=fds,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self.messages: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._from_chrome, 65536)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self.messages.put(json.loads(raw))

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            e = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            self.events.append(e)
            if e.get("method") == method:
                return e

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries (CSP violations land there too)."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(f"exception: {d.get('text', '')} {d.get('exception', {}).get('description', '')}"[:300])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + json.dumps(p.get("args", []))[:300])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", "")[:300])
        return out

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def load(page: Path, profile: Path, screenshot: Path | None = None, script: str = "") -> tuple[dict, list[str]]:
    """Open a file in a fresh tab, wait for load, evaluate `script` (its JSON value is returned), collect problems."""
    b = Browser(profile)
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            b.send(f"{domain}.enable", session=session)
        b.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 1800, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        b.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        b.wait_event("Page.loadEventFired")
        value = {}
        if script:
            res = b.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=session)
            if "exceptionDetails" in res:
                raise AssertionError(f"evaluate failed: {res['exceptionDetails']}")
            value = res["result"].get("value")
        if screenshot:
            shot = b.send("Page.captureScreenshot", {"format": "png"}, session=session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        time.sleep(0.2)  # let late console events arrive before reading them
        while not b.messages.empty():
            b.events.append(b.messages.get())
        return value, b.problems()
    finally:
        b.close()


PROBE = """(() => {
  const root = document.documentElement;
  const charts = [...document.querySelectorAll('svg.chart')].map(s => ({id: s.id, bars: s.querySelectorAll('rect.bar').length,
      width: s.getBoundingClientRect().width}));
  const table = document.getElementById('matrix-decode');
  const firstModel = () => table.tBodies[0].rows[0].cells[0].textContent;
  const before = firstModel();
  table.tHead.rows[0].cells[0].click(); const asc = firstModel();
  table.tHead.rows[0].cells[0].click(); const desc = firstModel();
  const hostile = [...document.querySelectorAll('td.output')].map(td => td.textContent)
      .filter(t => t.includes('<script>'));
  return {ready: root.getAttribute('data-grid-ready'), chartsSeen: root.getAttribute('data-grid-charts'), charts,
          scripts: document.scripts.length, before, asc, desc, hostile,
          alerted: window.__alerted || false, sections: [...document.querySelectorAll('section')].map(s => s.id)};
})()"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    write_root(root, seed_rows())
    out = tmp_path_factory.mktemp("reports")
    return write_reports(root, "seed", out, formats=("html",))["html"]


def test_report_loads_clean_and_charts_render(report, tmp_path):
    shot = Path(os.environ.get("GRID_SCREENSHOT", tmp_path / "report.png"))
    value, problems = load(report, tmp_path / "profile", screenshot=shot, script=PROBE)
    assert problems == []
    assert value["ready"] is not None and int(value["ready"]) >= 8  # the script ran to its end
    assert value["chartsSeen"] == "3" and [c["id"] for c in value["charts"]] == [
        "chart-decode",
        "chart-memory",
        "chart-bandwidth",
    ]
    assert all(c["bars"] > 20 and c["width"] > 300 for c in value["charts"])
    assert value["scripts"] == 1  # ours; the hostile output did not become a script element
    assert value["hostile"] and HOSTILE_OUTPUT.split(" ")[0] in value["hostile"][0]
    assert value["asc"] <= value["desc"] and value["asc"] != value["desc"]
    assert value["sections"] == [
        "verdict",
        "summary",
        "charts",
        "critical",
        "quality",
        "performance",
        "predicted",
        "hardware",
        "actionable",
        "test-matrix",
        "errors",
        "gallery",
        "results",
    ]
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank image


def test_harness_sees_console_errors_and_exceptions(tmp_path):
    """Negative control: a page that logs an error and throws must be reported, or the test above proves nothing."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><body><script>console.error('boom');"
        "setTimeout(() => { throw new Error('late'); }, 0);</script></body></html>"
    )
    _, problems = load(page, tmp_path / "profile")
    assert any("boom" in p for p in problems) and any("late" in p for p in problems)


def test_csp_blocks_an_injected_script(tmp_path, report):
    """Defense in depth: a script that is not ours (e.g. if escaping ever failed) is refused by the page's CSP."""
    html = report.read_text()
    page = tmp_path / "injected.html"
    page.write_text(html.replace("<main>", "<main><script>window.__alerted = true;</script>", 1))
    value, problems = load(page, tmp_path / "profile", script="window.__alerted || false")
    assert value is False
    assert any("Content Security Policy" in p for p in problems)
