"""A benchmark suite: YAML in, frozen dataclasses out, validated with errors that name the file, the key and the problem."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from grid.core import environments as envs
from grid.core.environments import Environment
from grid.core.errors import GridError

# The methodology's defaults have one home (grid.core.methodology, pure Python, no mlx); suites inherit them.
from grid.core.methodology import DEFAULT_SEED, DEFAULT_TRIALS, DEFAULT_WARMUP_RUNS

BUILTIN_IMAGES = ("chart", "photo", "text", "tiny", "large")


class SuiteError(GridError, ValueError):
    """A malformed suite: one line naming the file, the key and what to do."""

    exit_code = 2

    def __init__(self, file: str, key: str, problem: str, hint: str = ""):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}", hint or f"fix it, then `grid run {file}`")


@dataclass(frozen=True)
class ModelSpec:
    id: str  # an HF repo id, a local model folder, `twin:<arch>` or `twin-broken:<case>`
    trust_remote_code: bool = False
    revision: str | None = None
    notes: str | None = None
    timeout_s: float | None = None
    memory_limit_gb: float | None = None
    expect: dict | None = None  # e.g. {status: failed, error_class: OOM} for failure suites

    @property
    def source(self) -> str:
        if self.id.startswith(("twin:", "twin-broken:")):
            return "twin"
        if self.id.startswith((".", "/", "~")) or Path(self.id).expanduser().exists():
            return "local"
        return "hf"


@dataclass(frozen=True)
class PromptSpec:
    id: str
    text: str
    context: str | None = None

    @property
    def full_text(self) -> str:
        return f"{self.text}\n\nContext: {self.context}" if self.context else self.text


@dataclass(frozen=True)
class ImageSpec:
    id: str
    builtin: str | None = None
    path: str | None = None  # absolute, resolved against the suite file


@dataclass(frozen=True)
class Generation:
    max_tokens: int = 64
    temperature: float = 0.0
    warmup_runs: int = DEFAULT_WARMUP_RUNS
    trials: int = DEFAULT_TRIALS
    exact_tokens: bool = False
    seed: int = DEFAULT_SEED
    timeout_s: float = 600.0  # per cell, unless the model overrides it


@dataclass(frozen=True)
class Suite:
    name: str
    models: tuple[ModelSpec, ...]
    prompts: tuple[PromptSpec, ...]
    images: tuple[ImageSpec, ...]
    generation: Generation = field(default_factory=Generation)
    description: str = ""
    source: str = ""  # the file it came from
    environments: tuple[Environment, ...] = ()  # package pin sets (grid.core.environments); () = the node's own

    @property
    def hash(self) -> str:
        """Hash of the suite's content (not its file bytes): same content, same hash."""
        data = asdict(self)
        data.pop("source")
        if not data["environments"]:  # suites without environments keep the hash they always had
            data.pop("environments")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def builtin_suites() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("grid.core.suites").iterdir() if p.name.endswith(".yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a built-in suite by name (`smoke`) or a YAML file by path."""
    path = Path(name_or_path).expanduser()
    if not path.exists() and str(name_or_path) in builtin_suites():
        path = Path(str(resources.files("grid.core.suites") / f"{name_or_path}.yaml"))
    if not path.exists():
        raise SuiteError(
            str(name_or_path), "suite", f"no such file or built-in suite; built-ins: {', '.join(builtin_suites())}"
        )
    if path.is_dir():
        raise SuiteError(
            str(path), "suite", "is a folder, not a suite YAML file", "give a .yaml file, e.g. `grid run smoke`"
        )
    try:
        data = yaml.safe_load(_suite_text(path))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        raise SuiteError(str(path), where, f"not valid YAML ({getattr(e, 'problem', e)})") from None
    return parse_suite(data, str(path))


def _suite_text(path: Path) -> str:
    """The suite file's text: a binary or unreadable file is a SuiteError, never a decode traceback."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SuiteError(str(path), "suite", f"cannot be read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SuiteError(str(path), "suite", "is not a text YAML file (binary content)") from None
    if "\x00" in text:
        raise SuiteError(str(path), "suite", "is not a text YAML file (binary content)")
    return text


def parse_suite(data, file: str) -> Suite:
    v = _Validator(file)
    top = v.mapping(data, "suite", {"name", "description", "models", "prompts", "images", "generation", "environments"})
    name = v.string(top.get("name", Path(file).stem), "name")
    models = tuple(_model(v, m, f"models[{i}]") for i, m in enumerate(v.nonempty_list(top.get("models"), "models")))
    prompts = tuple(
        _prompt(v, p, f"prompts[{i}]")
        for i, p in enumerate(
            v.nonempty_list(top.get("prompts", [{"id": "describe", "text": "Describe this image."}]), "prompts")
        )
    )
    images = tuple(
        _image(v, im, f"images[{i}]", Path(file).parent)
        for i, im in enumerate(v.nonempty_list(top.get("images", [{"id": "chart", "builtin": "chart"}]), "images"))
    )
    for what, items in (
        ("models", [m.id for m in models]),
        ("prompts", [p.id for p in prompts]),
        ("images", [im.id for im in images]),
    ):
        dupes = sorted({x for x in items if items.count(x) > 1})
        if dupes:
            raise SuiteError(file, what, f"duplicate id {dupes[0]!r}; ids must be unique")
    gen = _generation(v, top.get("generation", {}) or {})
    environments = _environments(v, top.get("environments"))
    return Suite(
        name=name,
        description=str(top.get("description", "") or ""),
        models=models,
        prompts=prompts,
        images=images,
        generation=gen,
        source=file,
        environments=environments,
    )


def _environments(v: _Validator, items) -> tuple[Environment, ...]:
    """`environments:`: a list of {id, packages}; absent or empty = the node's own environment."""
    if items is None or items == []:
        return ()
    out: list[Environment] = []
    for i, e in enumerate(v.nonempty_list(items, "environments")):
        key = f"environments[{i}]"
        e = v.mapping(e, key, {"id", "packages"})
        ident = v.string(e.get("id"), f"{key}.id")
        if envs.id_problem(ident):
            v.fail(f"{key}.id", envs.id_problem(ident))
        pins = v.nonempty_list(e.get("packages"), f"{key}.packages")
        for j, pin in enumerate(pins):
            if envs.pin_problem(pin):
                v.fail(f"{key}.packages[{j}]", envs.pin_problem(pin))
        packages = tuple(p.strip() for p in pins)
        if envs.conflicting_pins(packages):
            v.fail(f"{key}.packages", envs.conflicting_pins(packages))
        if any(o.id == ident for o in out):
            v.fail("environments", f"duplicate id {ident!r}; ids must be unique")
        out.append(Environment(id=ident, packages=packages))
    return tuple(out)


def _model(v: _Validator, m, key: str) -> ModelSpec:
    if isinstance(m, str):
        m = {"id": m}
    m = v.mapping(m, key, {"id", "trust_remote_code", "revision", "notes", "timeout_s", "memory_limit_gb", "expect"})
    return ModelSpec(
        id=v.string(m.get("id"), f"{key}.id"),
        trust_remote_code=v.boolean(m.get("trust_remote_code", False), f"{key}.trust_remote_code"),
        revision=v.optional_string(m.get("revision"), f"{key}.revision"),
        notes=v.optional_string(m.get("notes"), f"{key}.notes"),
        timeout_s=v.optional_number(m.get("timeout_s"), f"{key}.timeout_s", positive=True),
        memory_limit_gb=v.optional_number(m.get("memory_limit_gb"), f"{key}.memory_limit_gb", positive=True),
        expect=v.mapping(m["expect"], f"{key}.expect", {"status", "error_class", "error_package"})
        if m.get("expect")
        else None,
    )


def _prompt(v: _Validator, p, key: str) -> PromptSpec:
    p = v.mapping(p, key, {"id", "text", "context"})
    return PromptSpec(
        id=v.string(p.get("id"), f"{key}.id"),
        text=v.string(p.get("text"), f"{key}.text"),
        context=v.optional_string(p.get("context"), f"{key}.context"),
    )


def _image(v: _Validator, im, key: str, base: Path) -> ImageSpec:
    im = v.mapping(im, key, {"id", "builtin", "path"})
    ident = v.string(im.get("id"), f"{key}.id")
    builtin, path = im.get("builtin"), im.get("path")
    if (builtin is None) == (path is None):
        raise SuiteError(v.file, key, "give exactly one of `builtin` or `path`")
    if builtin is not None:
        if builtin not in BUILTIN_IMAGES:
            raise SuiteError(
                v.file, f"{key}.builtin", f"unknown image {builtin!r}; built-ins: {', '.join(BUILTIN_IMAGES)}"
            )
        return ImageSpec(id=ident, builtin=builtin)
    resolved = (base / v.string(path, f"{key}.path")).expanduser().resolve()
    if not resolved.is_file():
        raise SuiteError(v.file, f"{key}.path", f"image file {resolved} not found")
    problem = image_problem(resolved)
    if problem:
        raise SuiteError(v.file, f"{key}.path", f"{resolved}: {problem}")
    return ImageSpec(id=ident, path=str(resolved))


MAX_IMAGE_PIXELS = 80_000_000  # about 8944 x 8944: above it no VLM processor works at full size, and it is a bomb


def image_problem(path: Path) -> str | None:
    """Why an image file cannot be a suite image (empty, not an image, too large, does not decode), or None.
    The size is read from the header before any pixel is decoded."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        return "the file is empty (0 bytes)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    return f"{w}x{h} pixels is too large (limit {MAX_IMAGE_PIXELS:,} pixels): resize it"
                im.draft("RGB", (1024, 1024))  # JPEG: decode at a reduced scale; the check is that it decodes
                im.load()
    except Image.DecompressionBombError:
        return f"too large (more than {MAX_IMAGE_PIXELS:,} pixels): resize it"
    except UnidentifiedImageError:
        return "not an image PIL can read (PNG, JPEG, WebP, ...)"
    except (OSError, SyntaxError, ValueError) as e:
        return f"the image does not decode ({e})"
    return None


def _generation(v: _Validator, g) -> Generation:
    g = v.mapping(g, "generation", {f for f in Generation.__dataclass_fields__})
    d = Generation()
    return Generation(
        max_tokens=v.integer(g.get("max_tokens", d.max_tokens), "generation.max_tokens", minimum=1),
        temperature=v.number(g.get("temperature", d.temperature), "generation.temperature", minimum=0),
        warmup_runs=v.integer(g.get("warmup_runs", d.warmup_runs), "generation.warmup_runs", minimum=0),
        trials=v.integer(g.get("trials", d.trials), "generation.trials", minimum=1),
        exact_tokens=v.boolean(g.get("exact_tokens", d.exact_tokens), "generation.exact_tokens"),
        seed=v.integer(g.get("seed", d.seed), "generation.seed", minimum=0),
        timeout_s=v.number(g.get("timeout_s", d.timeout_s), "generation.timeout_s", minimum=1),
    )


class _Validator:
    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, problem: str):
        raise SuiteError(self.file, key, problem)

    def mapping(self, x, key: str, allowed: set[str]) -> dict:
        if not isinstance(x, dict):
            self.fail(key, f"expected a mapping, got {type(x).__name__}")
        unknown = sorted(set(x) - allowed)
        if unknown:
            self.fail(
                f"{key}.{unknown[0]}" if key != "suite" else unknown[0],
                f"unknown key; allowed: {', '.join(sorted(allowed))}",
            )
        return x

    def nonempty_list(self, x, key: str) -> list:
        if not isinstance(x, list) or not x:
            self.fail(key, "expected a non-empty list")
        return x

    def string(self, x, key: str) -> str:
        if not isinstance(x, str) or not x.strip():
            self.fail(key, "expected a non-empty string" if x is not None else "is required")
        return x

    def optional_string(self, x, key: str) -> str | None:
        return None if x is None else self.string(str(x) if isinstance(x, (int, float)) else x, key)

    def boolean(self, x, key: str) -> bool:
        if not isinstance(x, bool):
            self.fail(key, f"expected true or false, got {x!r}")
        return x

    def number(self, x, key: str, minimum: float | None = None) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            self.fail(key, f"expected a number, got {x!r}")
        if minimum is not None and x < minimum:
            self.fail(key, f"must be >= {minimum}, got {x}")
        return float(x)

    def optional_number(self, x, key: str, positive: bool = False) -> float | None:
        if x is None:
            return None
        value = self.number(x, key)
        if positive and value <= 0:
            self.fail(key, f"must be > 0, got {x}")
        return value

    def integer(self, x, key: str, minimum: int | None = None) -> int:
        if isinstance(x, bool) or not isinstance(x, int):
            self.fail(key, f"expected an integer, got {x!r}")
        if minimum is not None and x < minimum:
            self.fail(key, f"must be >= {minimum}, got {x}")
        return x
