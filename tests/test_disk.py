"""agent.disk: the fit decision with given sizes, LRU eviction of grid's own downloads in a fake hub cache (never the
user's models), and a model skipped for disk with both numbers. The hub API cannot be reached here: sizes are given."""

from __future__ import annotations

import pytest

from agent import disk

GB = 10**9


def entries(*specs):
    return [disk.Entry(repo, size * GB, last_used) for repo, size, last_used in specs]


def test_parse_size():
    assert disk.parse_size("200GB") == 200 * GB and disk.parse_size("1.5 tb") == 1500 * GB
    assert disk.parse_size("64GiB") == 64 * 2**30
    with pytest.raises(ValueError):
        disk.parse_size("lots")


def test_budget_evicts_least_recently_used_first():
    ledger = entries(("old/a", 60, 1.0), ("new/b", 60, 3.0), ("mid/c", 60, 2.0))
    d = disk.plan("x/new", 70 * GB, free_bytes=1000 * GB, ledger=ledger, budget_bytes=200 * GB)
    assert d.fits and d.evict == ("old/a",)  # 180 + 70 > 200: the oldest goes, 120 + 70 fits
    d = disk.plan("x/new", 140 * GB, free_bytes=1000 * GB, ledger=ledger, budget_bytes=200 * GB)
    assert d.fits and d.evict == ("old/a", "mid/c")


def test_free_space_evicts_and_a_model_that_cannot_fit_is_skipped_with_both_numbers():
    ledger = entries(("old/a", 10, 1.0))
    d = disk.plan("x/big", 15 * GB, free_bytes=8 * GB, ledger=ledger, margin_bytes=2 * GB)
    assert d.fits and d.evict == ("old/a",)  # 8 + 10 - 2 >= 15
    d = disk.plan("x/huge", 300 * GB, free_bytes=8 * GB, ledger=ledger, margin_bytes=2 * GB)
    assert not d.fits and d.evict == () and (d.needed_bytes, d.free_bytes) == (300 * GB, 8 * GB)
    assert "300.0 GB" in d.reason and "8.0 GB free" in d.reason
    over = disk.plan("x/huge", 300 * GB, free_bytes=10_000 * GB, ledger=[], budget_bytes=200 * GB)
    assert not over.fits and "budget of 200.0 GB" in over.reason
    assert disk.plan("x/any", None, 1, []).fits  # unknown size: not checked
    assert disk.plan("x/any", 0, 1, []).reason == "already cached"


def _fake_repo(cache, repo, nbytes):
    folder = disk.repo_cache_folder(repo, cache) / "blobs"
    folder.mkdir(parents=True)
    (folder / "sha-weights").write_bytes(b"\0" * nbytes)


def test_eviction_in_a_fake_cache_never_touches_what_grid_did_not_download(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_CACHE", str(tmp_path / "grid"))
    cache = tmp_path / "hub"
    _fake_repo(cache, "grid/fetched-old", 3000)
    _fake_repo(cache, "grid/fetched-new", 2000)
    _fake_repo(cache, "user/own-model", 5000)  # in the user's cache before grid: not in the ledger
    disk.record_download("grid/fetched-old", 3000, "p", was_cached=False)
    disk.record_download("grid/fetched-new", 2000, "p", was_cached=False)
    disk.record_download("user/own-model", 5000, "p", was_cached=True)  # grid used it: still not grid's
    ledger = disk.read_ledger()
    assert {e.repo for e in ledger} == {"grid/fetched-old", "grid/fetched-new"}
    d = disk.plan("x/next", 3000, free_bytes=1000, ledger=ledger, budget_bytes=6000, margin_bytes=0)
    assert d.fits and d.evict == ("grid/fetched-old",)
    assert disk.evict([*d.evict, "user/own-model"], cache) == ["grid/fetched-old"]  # the user's repo is refused
    assert not disk.repo_cache_folder("grid/fetched-old", cache).exists()
    assert disk.cached_bytes("user/own-model", cache) == 5000 and disk.cached_bytes("grid/fetched-new", cache) == 2000
    assert [e.repo for e in disk.read_ledger()] == ["grid/fetched-new"]


def test_runner_skips_a_cell_that_cannot_fit(monkeypatch):
    from agent import runner
    from agent.hardware import probe
    from grid.core.plan import plan_cells
    from grid.core.suite import parse_suite

    suite = parse_suite({"models": ["org/huge-vlm"], "generation": {"max_tokens": 4, "trials": 1}}, "t.yaml")
    (cell,) = plan_cells(suite, "disk-test", [("EPYC-2c-24GB", "")])
    monkeypatch.setattr(disk, "hub_size_bytes", lambda repo, revision=None: 900 * GB)
    monkeypatch.setenv(disk.BUDGET_ENV, "200GB")
    monkeypatch.setattr(runner, "take_child", lambda options=None: pytest.fail("no child for a skipped cell"))
    (row,) = list(runner.run_group([cell], probe(device_info=False)))
    assert row.status == "skipped" and row.error_class == "Disk Full"
    assert row.disk_needed_gb == 900.0 and row.disk_free_gb > 0
    assert "budget" in row.error_message
