"""`grid bisect`: the first release of a package that broke (or fixed, or slowed) one cell.

The versions between --good and --bad come from the package index (`pip index versions`, the node's own pip
configuration); each probe runs the cell in that version's package environment (grid.driver.envs: a Ray runtime_env,
cached per node) through the ordinary scheduler, so rows land in the results root like any run's. A round probes as
many versions as there are nodes of the class, spread evenly over the open interval: ~log2(N) rounds on one node,
fewer with several.

A version is *bad* when it resembles --bad: with no metric, its status differs from --good's (ok vs not ok); with
--metric, the metric is worse than --good's by more than --threshold. --good may be newer than --bad (to find the
release that fixed or first supported a model): the search runs from --good towards --bad either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from grid.core.environments import Environment, package_name
from grid.core.errors import GridError
from grid.core.plan import plan_cells
from grid.core.schema import ResultRow
from grid.core.suite import Suite

HIGHER_IS_BETTER = {"decode_tps": True, "prefill_tps": True, "ttft_s": False, "peak_memory_gb": False, "load_s": False}


class BisectError(GridError, ValueError):
    """Bad input to bisect (unknown package or version, an index that cannot be reached): one line, exit code 2."""

    exit_code = 2


def index_versions(package: str, timeout_s: float = 120) -> list[str]:
    """Every version of `package` on the index, oldest first; BisectError when it cannot be listed."""
    from grid.driver.envs import IndexError_
    from grid.driver.envs import index_versions as listed

    try:
        return listed(package, timeout_s)
    except IndexError_ as exc:
        raise BisectError(str(exc)) from None


def _is_pre(version: str) -> bool:
    return bool(re.search(r"(a|b|rc|dev)\d*$", version))


def versions_between(all_versions: list[str], good: str, bad: str, pre: bool = False) -> list[str]:
    """The versions from good to bad inclusive, in search order (good first)."""
    for v in (good, bad):
        if v not in all_versions:
            raise BisectError(f"version {v!r} is not on the index (newest: {', '.join(all_versions[-5:])})")
    lo, hi = sorted((all_versions.index(good), all_versions.index(bad)))
    # pre-releases (0.7.0rc0) only when asked or when an end is one, as pip itself chooses
    span = [v for v in all_versions[lo : hi + 1] if pre or v in (good, bad) or not _is_pre(v)]
    return span if all_versions.index(good) == lo else span[::-1]


@dataclass
class Probe:
    version: str
    row: ResultRow
    bad: bool
    value: float | None = None

    def describe(self) -> str:
        r = self.row
        if r.status != "ok":
            return f"{r.status}: {r.error_class}: {(r.error_message or '')[:300]}"
        return f"ok, decode {r.decode_tps or 0:.1f} tok/s" + (
            f", value {self.value:.4g}" if self.value is not None else ""
        )


@dataclass
class BisectResult:
    package: str
    model: str
    versions: list[str]  # in search order, good first
    first_bad: str | None = None
    last_good: str | None = None
    rounds: int = 0
    probes: list[Probe] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "package": self.package,
            "model": self.model,
            "versions": self.versions,
            "first_bad": self.first_bad,
            "last_good": self.last_good,
            "rounds": self.rounds,
            "note": self.note,
            "probes": [
                {"version": p.version, "bad": p.bad, "status": p.row.status, "detail": p.describe()}
                for p in self.probes
            ],
        }


def probe_cells(suite: Suite, package: str, versions: list[str], run_id: str, target: tuple[str, str]) -> list:
    """One cell per version: the suite's first prompt and image, in that version's environment."""
    envs = tuple(Environment(f"{package_name(package)}-{v}", (f"{package}=={v}",)) for v in versions)
    one = Suite(
        name=suite.name,
        models=suite.models[:1],
        prompts=suite.prompts[:1],
        images=suite.images[:1],
        generation=suite.generation,
        environments=envs,
    )
    return plan_cells(one, run_id, [target])


def _pick(lo: int, hi: int, k: int) -> list[int]:
    """k indices spread evenly strictly between lo and hi."""
    inside = hi - lo - 1
    if inside <= 0:
        return []
    k = min(k, inside)
    return sorted({lo + round((i + 1) * (inside + 1) / (k + 1)) for i in range(k)} - {lo, hi})


def bisect(
    suite: Suite,
    package: str,
    versions: list[str],
    run: Callable[[list], list[ResultRow]],
    run_id: str,
    target: tuple[str, str],
    parallel: int = 1,
    metric: str | None = None,
    threshold: float = 0.10,
) -> BisectResult:
    """Binary (k-ary with `parallel` probes a round) search for the first version, from versions[0] (good) towards
    versions[-1] (bad), that behaves like the bad end."""
    result = BisectResult(package, suite.models[0].id, versions)
    seen: dict[int, Probe] = {}

    def probe(indices: list[int]) -> None:
        cells = probe_cells(suite, package, [versions[i] for i in indices], run_id, target)
        by_env = {r.env_id: r for r in run(cells)}
        for i, c in zip(indices, cells, strict=True):
            row = by_env.get(c.env_id)
            if row is None:
                raise BisectError(f"no row came back for {package}=={versions[i]}")
            seen[i] = Probe(versions[i], row, False, getattr(row, metric) if metric else None)
        result.rounds += 1

    probe([0, len(versions) - 1])
    good, bad = seen[0], seen[len(versions) - 1]
    verdict = _judge(good, metric, threshold)
    for p in seen.values():
        p.bad = verdict(p)
    if good.bad or not bad.bad:
        result.note = f"the ends agree: {good.version} {good.describe()}; {bad.version} {bad.describe()}"
        result.probes = [seen[i] for i in sorted(seen)]
        return result
    lo, hi = 0, len(versions) - 1  # seen[lo] good, seen[hi] bad
    while hi - lo > 1:
        picks = _pick(lo, hi, max(parallel, 1))
        probe(picks)
        for i in picks:
            seen[i].bad = verdict(seen[i])
        bad_ones = [i for i in picks if seen[i].bad]
        good_ones = [i for i in picks if not seen[i].bad]
        hi = min(bad_ones + [hi])
        lo = max([i for i in good_ones if i < hi] + [lo])
    result.first_bad, result.last_good = versions[hi], versions[lo]
    result.probes = [seen[i] for i in sorted(seen)]
    return result


def _judge(good: Probe, metric: str | None, threshold: float) -> Callable[[Probe], bool]:
    if metric is None:
        return lambda p: (p.row.status == "ok") != (good.row.status == "ok")
    if metric not in HIGHER_IS_BETTER:
        raise BisectError(f"unknown metric {metric!r}; one of {', '.join(HIGHER_IS_BETTER)}")
    higher = HIGHER_IS_BETTER[metric]
    ref = good.value

    def worse(p: Probe) -> bool:
        if p.row.status != "ok" or p.value is None or ref is None:
            return p.row.status != good.row.status
        change = (p.value - ref) / abs(ref) if ref else 0.0
        return change < -threshold if higher else change > threshold

    return worse
