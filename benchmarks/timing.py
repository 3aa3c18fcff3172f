"""Timing two implementations of one operation fairly: warm-up first, then interleaved batches
in the same process, alternating which side goes first."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import asdict, frozen

__all__ = ["Operation", "Stats", "compare", "ratios"]

#: One call of an implementation; ``i`` picks its parameters, the same ``i`` for both sides.
Operation = Callable[[int], Awaitable[Any]]

#: Operations per batch before switching sides.
BATCH = 25


@frozen
class Stats:
    """Latency figures of one side, over ``n`` timed operations."""

    n: int
    ops_per_s: float  # n / time spent inside the operations
    median_us: float
    p95_us: float
    mean_us: float
    cpu_us: float  # CPU time of this process (every thread) per operation

    @classmethod
    def of(cls, samples_ns: list[int], cpu_ns: int) -> Stats:
        us = [ns / 1000 for ns in samples_ns]
        total_s = sum(samples_ns) / 1e9
        return cls(
            n=len(us),
            ops_per_s=len(us) / total_s,
            median_us=statistics.median(us),
            p95_us=statistics.quantiles(us, n=20)[18],
            mean_us=statistics.fmean(us),
            cpu_us=cpu_ns / 1000 / len(us),
        )

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 1) for k, v in asdict(self).items()}


async def _timed(operation: Operation, start: int, stop: int, sink: list[int]) -> int:
    """Run operations ``start..stop-1``, appending their latencies; return the CPU time."""
    cpu = time.process_time_ns()
    for i in range(start, stop):
        began = time.perf_counter_ns()
        await operation(i)
        sink.append(time.perf_counter_ns() - began)
    return time.process_time_ns() - cpu


async def compare(sides: dict[str, Operation], *, iterations: int, warmup: int) -> dict[str, Stats]:
    """Warm every side up, then time ``iterations`` calls of each, interleaved in batches of
    :data:`BATCH` and rotating which side goes first (call ``i`` of one side has the
    parameters of call ``i`` of the others)."""
    for i in range(warmup):
        for operation in sides.values():
            await operation(i)
    gc.collect()
    names = list(sides)
    latencies: dict[str, list[int]] = {name: [] for name in names}
    cpu = dict.fromkeys(names, 0)
    for batch, start in enumerate(range(warmup, warmup + iterations, BATCH)):
        stop = min(start + BATCH, warmup + iterations)
        shift = batch % len(names)
        for name in names[shift:] + names[:shift]:
            cpu[name] += await _timed(sides[name], start, stop, latencies[name])
    return {name: Stats.of(latencies[name], cpu[name]) for name in names}


def ratios(ours: Stats, raw: Stats) -> dict[str, float]:
    """Ours / raw of the median, the p95 and the CPU per call: above 1, ours costs more."""
    return {
        "ratio": round(ours.median_us / raw.median_us, 2),
        "ratio_p95": round(ours.p95_us / raw.p95_us, 2),
        "cpu_ratio": round(ours.cpu_us / raw.cpu_us, 2),
    }
