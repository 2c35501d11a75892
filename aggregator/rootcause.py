"""Root causes a maintainer can act on, read from a stored traceback (or a crashed child's log tail).

- `parse` splits a traceback into its chained sections (the first one is the original cause) and frames, Python
  tracebacks and faulthandler dumps alike (a dump lists the most recent call first; frames here are always oldest
  first, so the last frame is the deepest).
- `decisive_frame`: the deepest frame in the owning package, in the original cause; else the deepest frame outside
  grid. Paths are made relative to site-packages (or to the model's folder) so no local path leaves the machine.
- `version_change`: what grid knows about a version change behind the error (a keyword transformers 5.x rejects, a
  name it no longer exports).
- `timeout_phase`: which phase a timeout ended (fetch, load, first token, decode) and who owns it.
- `clip`: messages shortened at a word boundary, never mid-word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+),? in (?P<func>\S+)')
_CHAIN = re.compile(r"^(During handling of the above exception|The above exception was the direct cause)")
_DUMP = re.compile(r"^(Current thread|Thread) 0x[0-9a-f]+ .*most recent call first", re.I)
_EXC = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration)|Fatal Python error)\b:?")
_LOCAL = re.compile(r"(?:/(?:root|home/[^/\s'\"]+|Users/[^/\s'\"]+|work|tmp|private|var/folders)(?:/[^\s'\",)]*)?)")
# path prefix -> owning package (first match wins)
_OWNERS = (
    ("mlx_vlm/", "mlx-vlm"),
    ("mlx_lm/", "mlx-lm"),
    ("mlx/", "mlx"),
    ("transformers_modules/", "model files"),
    ("transformers/", "transformers"),
    ("huggingface_hub/", "huggingface-hub"),
    ("tokenizers/", "transformers"),
    ("twins/", "model files"),
    ("agent/", "grid"),
    ("grid/", "grid"),
    ("aggregator/", "grid"),
)


@dataclass(frozen=True)
class Frame:
    path: str  # relative: mlx_vlm/models/llava/processing_llava.py, transformers_modules/NAME/processing_x.py
    line: int
    function: str
    code: str | None
    package: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line} in {self.function}"


@dataclass
class Section:
    frames: list[Frame] = field(default_factory=list)  # oldest call first
    exception: str | None = None


def relative_path(path: str) -> str:
    """A frame's path without anything local: after site-packages/, from transformers_modules/ or the twins cache
    (the content-hash folder dropped), grid's own files from the repository root; else the file name."""
    p = path.replace("\\", "/")
    if "site-packages/" in p:
        return p.rsplit("site-packages/", 1)[1]
    if "transformers_modules/" in p:
        parts = p.rsplit("transformers_modules/", 1)[1].split("/")
        parts = [x for x in parts if not re.fullmatch(r"[0-9a-f]{12,}", x)]
        return "transformers_modules/" + "/".join(parts)
    if "/grid/twins/" in p:
        return "twins/" + p.rsplit("/grid/twins/", 1)[1]
    for root in ("agent/", "grid/", "aggregator/"):
        if f"/{root}" in p:
            return root + p.rsplit(f"/{root}", 1)[1]
    m = re.search(r"/lib/python3\.\d+/(.+)$", p)
    if m:
        return m.group(1)
    return p.rsplit("/", 1)[-1]


def package_of(rel_path: str) -> str:
    for prefix, pkg in _OWNERS:
        if rel_path.startswith(prefix):
            return pkg
    return "python"


def scrub(text: str | None) -> str:
    """Local paths out of free text: site-packages paths made relative, any other home/work path reduced to its
    last part (`…/name`)."""
    if not text:
        return ""
    text = re.sub(r"[^\s'\"(]*site-packages/", "", text)
    text = re.sub(r"[^\s'\"(]*/transformers_modules/", "transformers_modules/", text)
    text = re.sub(r"https://huggingface\.co//[^\s'\"]*", "(local folder)", text)
    return _LOCAL.sub(lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def parse(traceback: str | None) -> list[Section]:
    """The traceback's chained sections in the order raised (the original cause first)."""
    sections = [Section()]
    dump = False
    lines = (traceback or "").splitlines()
    for i, line in enumerate(lines):
        if _CHAIN.match(line):
            sections.append(Section())
            continue
        if _DUMP.match(line):
            dump = True
            continue
        m = _FRAME.match(line)
        if m:
            rel = relative_path(m["path"])
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            code = nxt.strip() if nxt.startswith("    ") and not _FRAME.match(nxt) else None
            if code and set(code) <= set("^~ "):
                code = None
            frame = Frame(rel, int(m["line"]), m["func"], code or None, package_of(rel))
            if dump:
                sections[-1].frames.insert(0, frame)  # most recent call first in a dump
            else:
                sections[-1].frames.append(frame)
        elif _EXC.match(line) and not line.startswith(" "):
            if sections[-1].exception is None or not sections[-1].exception.startswith("Fatal Python error"):
                sections[-1].exception = scrub(line.strip())
    return [s for s in sections if s.frames or s.exception]


def decisive_frame(sections: list[Section], package: str | None) -> tuple[Frame | None, str | None]:
    """(frame, exception): the deepest frame in `package` within the first section that has one (the original cause
    of a chain); else the deepest frame outside grid and the standard library."""
    for s in sections:
        own = [f for f in s.frames if f.package == package]
        if own:
            return own[-1], s.exception
    for s in sections:
        others = [f for f in s.frames if f.package not in ("grid", "python")]
        if others:
            return others[-1], s.exception
    last = sections[-1] if sections else None
    return (last.frames[-1] if last and last.frames else None), (last.exception if last else None)


def trimmed(sections: list[Section], limit: int = 12) -> str:
    """The frames outside grid, relative paths, with their code lines, and each section's exception."""
    out: list[str] = []
    for i, s in enumerate(sections):
        if i:
            out.append("\nDuring handling of the above exception, another exception occurred:\n")
        frames = [f for f in s.frames if f.package not in ("grid", "python")][-limit:]
        for f in frames:
            out.append(f'  File "{f.path}", line {f.line}, in {f.function}')
            if f.code:
                out.append(f"    {scrub(f.code)}")
        if s.exception:
            out.append(s.exception)
    return "\n".join(out).strip("\n")


def _major(version: str | None) -> int | None:
    m = re.match(r"(\d+)", version or "")
    return int(m.group(1)) if m else None


def version_change(exception: str | None, frame: Frame | None, versions: dict[str, list[str]]) -> str | None:
    """What grid knows about the version change behind this exception, or None."""
    text = exception or ""
    tf = (versions.get("transformers") or [None])[-1]
    major = _major(tf)
    where = f" (passed at {frame.path}:{frame.line})" if frame and frame.package != "transformers" else ""
    if major is not None and major >= 5:
        m = re.search(r"unexpected keyword argument '(\w+)'", text)
        if m:
            return f"transformers {tf} no longer accepts the keyword `{m.group(1)}`{where}; transformers 4.x did."
        m = re.search(r"cannot import name '(\w+)' from '(transformers[\w.]*)'", text)
        if m:
            return f"`{m.group(2)}.{m.group(1)}` is gone in transformers {tf} (a private name 4.x still had)."
        m = re.search(r"(\w+) has no attribute '?(\w+)'?", text)
        if m and ("Tokenizer" in m.group(1) or "Processor" in m.group(1)):
            return f"`{m.group(1)}.{m.group(2)}` no longer exists in transformers {tf}."
    return None


def clip(text: str | None, limit: int = 160) -> str:
    """`text` on one line, shortened at a word boundary (never mid-word), with … when shortened."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else flat[:limit]).rstrip(" ,;:") + " …"


@dataclass
class TimeoutPhase:
    phase: str  # fetch | load | first token | decode | after load
    owner: str
    note: str


def timeout_phase(
    message: str | None,
    load_s: float | None,
    max_tokens: int | None,
    ok_decode_tps: float | None,
    ok_ttft_s: float | None,
) -> TimeoutPhase:
    """Which phase a timeout ended and who owns it. `ok_*`: the same model's ok cells on the same class, if any."""
    m = re.search(r"(\w+) exceeded (\d+(?:\.\d+)?) s", message or "")
    op, limit = (m.group(1), float(m.group(2))) if m else (None, None)
    if op == "fetch":
        return TimeoutPhase("fetch", "huggingface-hub", "the download did not finish: network or hub, not the model")
    if op == "load" or (op is None and load_s is None):
        return TimeoutPhase("load", "mlx-vlm", "the model never finished loading (mlx_vlm.load)")
    loaded = f"loaded in {load_s:.1f} s, then " if load_s is not None else "loaded, then "
    if ok_decode_tps and max_tokens and limit:
        needed = (ok_ttft_s or 0.0) + max_tokens / ok_decode_tps
        if needed > limit * 0.8:
            return TimeoutPhase(
                "decode",
                "hardware / suite settings",
                f"{loaded}decoding {max_tokens} tokens at {ok_decode_tps:.3g} tok/s needs ≈{needed:.0f} s against "
                f"a {limit:.0f} s limit: slow hardware, not a bug (raise timeout_s or lower max_tokens)",
            )
    if ok_decode_tps:
        return TimeoutPhase(
            "first token",
            "mlx-vlm",
            f"{loaded}other cells of this model decode at {ok_decode_tps:.3g} tok/s: this "
            "input stalled (processor or prefill)",
        )
    return TimeoutPhase(
        "first token",
        "model code (mlx-vlm or the model's files)",
        f"{loaded}no token within the limit on any cell: a hang in the processor, prefill or model code",
    )


@dataclass
class RootCause:
    frame: Frame | None
    exception: str | None
    version_change: str | None
    traceback: str  # trimmed: frames outside grid, relative paths
    timeout: TimeoutPhase | None = None

    @property
    def owner(self) -> str | None:
        """Who should act: the timeout's owner, else the decisive frame's package."""
        if self.timeout is not None:
            return self.timeout.owner
        return self.frame.package if self.frame else None

    @property
    def summary(self) -> str:
        """One line: `TypeError: … at mlx_vlm/…/processing_llava.py:90 in __call__`."""
        bits = [clip(self.exception, 200)] if self.exception else []
        if self.frame:
            bits.append(f"at {self.frame.location}")
        return " ".join(bits)


def analyze(traceback: str | None, package: str | None, versions: dict[str, list[str]]) -> RootCause:
    sections = parse(traceback)
    frame, exception = decisive_frame(sections, package)
    return RootCause(frame, exception, version_change(exception, frame, versions), trimmed(sections))
