"""Order statistics of a list of measurements.

Pure functions, called on any thread. Percentiles interpolate linearly
between the two nearest ranks, as numpy's default method does.
"""

import math
import statistics


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` (0 to 1) percentile of ``values``.

    :raises ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: list[float]) -> dict[str, float | int]:
    """Return n, min, p5, p50, p95, max and mean of ``values``; only n when empty."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "min": min(values),
        "p5": percentile(values, 0.05),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "max": max(values),
        "mean": statistics.fmean(values),
    }
