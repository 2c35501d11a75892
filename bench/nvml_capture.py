"""Record NVML's energy counter and power reading on GPU 0, raw, for a few seconds (issue 15: a recorded NVML output
the energy parser is tested on). Writes JSON: the device, the driver, and every (wall s, energy mJ, power mW) sample.

    python3 bench/nvml_capture.py OUT.json [--seconds 3] [--every 0.01]
"""

from __future__ import annotations

import argparse
import json
import time

import pynvml  # nvidia-ml-py (on the lent GPU machines' image)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--every", type=float, default=0.01)
    args = ap.parse_args()
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    name = pynvml.nvmlDeviceGetName(h)
    samples, t0 = [], time.time()
    while time.time() - t0 < args.seconds:
        samples.append(
            [
                round(time.time() - t0, 4),
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h),
                pynvml.nvmlDeviceGetPowerUsage(h),
            ]
        )
        time.sleep(args.every)
    out = {
        "command": "python3 bench/nvml_capture.py",
        "device": name if isinstance(name, str) else name.decode(),
        "driver": pynvml.nvmlSystemGetDriverVersion(),
        "captured_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
        "columns": ["wall_s", "total_energy_mj", "power_mw"],
        "samples": samples,
    }
    pynvml.nvmlShutdown()
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(out["device"], out["driver"], len(samples), "samples")


if __name__ == "__main__":
    main()
