"""The chip bandwidth table: pure data, shared by the agent (probing) and the aggregator (verdict, prediction)."""

from __future__ import annotations

# Peak memory bandwidth in GB/s, keyed by chip (brand string without "Apple ") and, where one chip name ships with
# different memory buses, by GPU cores. Figures from Apple's newsroom / tech-spec pages of each chip's launch
# (support.apple.com/specs, apple.com/newsroom: "M1 Pro and M1 Max" 2021-10, "M2" 2022-06, "M3 family" 2023-10,
# "M4 Pro and M4 Max" 2024-10, "M3 Ultra" 2025-03, "M5" 2025-10) and NVIDIA's H100 / H200 data sheets
# (nvidia.com/en-us/data-center/h100, /h200). M1: LPDDR4X-4266 on a 128-bit bus = 68.25 GB/s.
# M3 Max with the 30-core GPU has a 384-bit bus (300 GB/s), the 40-core one 512-bit (400 GB/s); M4 Max likewise
# 32-core 410 GB/s, 40-core 546 GB/s. M5 Pro "up to 307 GB/s", M5 Max "up to 614 GB/s" (40-core GPU): Apple newsroom
# "M5 Pro and M5 Max" 2026-03-04, as quoted by pepelac.news/en/posts/id30875 and morningoverview.com (apples-new-m5-pro-
# m5-max-chips-promise-insane-pro-performance); the newsroom page itself was not reachable offline. H100 is the SXM figure (PCIe cards: 2000 GB/s).
BANDWIDTH_GBPS: dict[str, float | dict[int, float]] = {
    "M1": 68.25,
    "M1 Pro": 200.0,
    "M1 Max": 400.0,
    "M1 Ultra": 800.0,
    "M2": 100.0,
    "M2 Pro": 200.0,
    "M2 Max": 400.0,
    "M2 Ultra": 800.0,
    "M3": 100.0,
    "M3 Pro": 150.0,
    "M3 Max": {30: 300.0, 40: 400.0},
    "M3 Ultra": 819.0,
    "M4": 120.0,
    "M4 Pro": 273.0,
    "M4 Max": {32: 410.0, 40: 546.0},
    "M5": 153.0,
    "M5 Pro": 307.0,
    "M5 Max": {40: 614.0},  # the 40-core-GPU M5 Max; a lower-binned Max's bus is not in the cited source (-> None)
    "H100": 3350.0,
    "H100 PCIe": 2000.0,
    "H200": 4800.0,
}
