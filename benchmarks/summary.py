"""Summarise several runs of ``python -m benchmarks --json``: the median of every figure.

Usage: ``python -m benchmarks.summary RUN.json... [--json OUT]``

On a shared machine one run's latencies move with the load; the median over a few runs,
taken at different moments, is steadier. The output has the shape of one run's JSON, plus
``runs`` (how many were summarised) and each run's load average.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.run import _HEADER, _TITLE, _print_row

_SIDE_FIGURES = ("n", "ops_per_s", "median_us", "p95_us", "mean_us", "cpu_us")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarise(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report whose every figure is the median of that figure over ``reports``."""
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for report in reports:
        for result in report["results"]:
            rows.setdefault((result["backend"], result["path"]), []).append(result)
    results = []
    for runs in rows.values():
        first = runs[0]
        summary = {
            "backend": first["backend"],
            "server": first["server"],
            "path": first["path"],
            "statements": first["statements"],
            "runs": len(runs),
        }
        for side in ("ours", "raw"):
            summary[side] = {k: _median([r[side][k] for r in runs]) for k in _SIDE_FIGURES}
        summary["ratio"] = _median([r["ratio"] for r in runs])
        summary["cpu_ratio"] = _median([r["cpu_ratio"] for r in runs])
        summary["ratio_range"] = [min(r["ratio"] for r in runs), max(r["ratio"] for r in runs)]
        results.append(summary)
    return {
        "machine": {k: v for k, v in reports[0]["machine"].items() if not k.startswith("load")},
        "config": reports[0]["config"],
        "runs": len(reports),
        "load": [[r["machine"]["load_before"], r["machine"]["load_after"]] for r in reports],
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary", description=__doc__)
    parser.add_argument("runs", nargs="+", metavar="RUN.json")
    parser.add_argument("--json", metavar="OUT", help="also write the summary as JSON")
    args = parser.parse_args(argv)
    reports = [json.loads(Path(path).read_text(encoding="utf-8")) for path in args.runs]
    summary = summarise(reports)
    print(f"median of {len(reports)} runs; ratio = median of the runs' ratios")
    print(_TITLE)
    print(_HEADER)
    for result in summary["results"]:
        _print_row(result)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
