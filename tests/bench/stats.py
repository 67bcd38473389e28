"""Percentiles and summaries of latency samples (seconds)."""
import math


def percentile(samples, fraction):
    """The nearest-rank percentile (fraction in 0..1) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(samples):
    """{"n", "p50", "p99", "max"} of `samples`; None values when there are none."""
    if not samples:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {"n": len(samples), "p50": percentile(samples, 0.50),
            "p99": percentile(samples, 0.99), "max": max(samples)}
