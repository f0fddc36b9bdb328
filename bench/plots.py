"""The plots of the results page, drawn with matplotlib's Agg backend.

Called by :mod:`bench.report` on the main thread after it has selected the
Agg backend; each function writes one PNG and returns its path.
"""

from pathlib import Path

import matplotlib.pyplot as plt

from .stats import percentile

MIB = 1024 * 1024
LATENCY_MEDIAN_TARGET_MS = 2.0
LATENCY_P95_TARGET_MS = 5.0
# card.photo may take 5 % longer than the floor's photo; card.read a third of it.
PHOTO_TARGET_MARGIN = 0.05
DPI = 110


def latency(result: dict, folder: Path) -> Path:
    """Plot the event lags as a strip of points per event, with the targets."""
    series = {
        "card.inserted": result["inserted_ms"],
        "card.removed": result["removed_ms"],
    }
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for row, values in enumerate(series.values()):
        # Spread the points over nine rows so equal values stay visible.
        spread = [row + 0.06 * (index % 9 - 4) for index in range(len(values))]
        axes.scatter(values, spread, s=14, alpha=0.6)
        median = percentile(values, 0.5)
        axes.plot([median, median], [row - 0.3, row + 0.3], color="black", linewidth=2)
    axes.axvline(LATENCY_MEDIAN_TARGET_MS, color="tab:orange", linestyle="--")
    axes.axvline(LATENCY_P95_TARGET_MS, color="tab:red", linestyle=":")
    axes.text(LATENCY_MEDIAN_TARGET_MS, 1.45, " median target", color="tab:orange")
    axes.text(LATENCY_P95_TARGET_MS, 1.45, " p95 target", color="tab:red")
    axes.set_yticks(range(len(series)), list(series))
    axes.set_ylim(-0.6, 1.7)
    axes.set_xlim(left=0)
    axes.set_xlabel("ms from the observer's wake-up to the client's receipt")
    axes.set_title(
        f"Event latency, {len(result['inserted_ms'])} insertions and removals"
    )
    return _save(figure, folder / "bench-latency.png")


def read_times(result: dict, folder: Path) -> Path:
    """Plot median read times as bars with p5 to p95 whiskers, floor beside agent."""
    summary = result["summary"]
    bars = [
        ("floor: text fields", summary["floor_text_ms"], "tab:gray"),
        ("agent: card.read", summary["agent_read_ms"], "tab:blue"),
        ("floor: photo", summary["floor_photo_ms"], "tab:gray"),
        ("agent: card.photo", summary["agent_photo_ms"], "tab:blue"),
    ]
    if "peer_ms" in summary:
        bars.append(("pythaiidcard 0.3.0", summary["peer_ms"], "tab:green"))

    figure, axes = plt.subplots(figsize=(7, 3.4))
    labels = [label for label, _, _ in bars]
    medians = [stats["p50"] for _, stats, _ in bars]
    low = [stats["p50"] - stats["p5"] for _, stats, _ in bars]
    high = [stats["p95"] - stats["p50"] for _, stats, _ in bars]
    positions = range(len(bars))

    axes.barh(
        positions,
        medians,
        xerr=[low, high],
        color=[colour for _, _, colour in bars],
        capsize=3,
    )
    for position, median in zip(positions, medians, strict=True):
        axes.text(median + 15, position, f"{median:.0f} ms", va="center")

    floor = summary["floor_photo_ms"]["p50"]
    targets = {1: floor / 3, 3: floor * (1 + PHOTO_TARGET_MARGIN)}
    for position, target in targets.items():
        axes.plot([target, target], [position - 0.45, position + 0.45], color="tab:red")
    axes.plot([], [], color="tab:red", label="target")
    axes.legend(loc="lower right")

    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, max(medians) * 1.18)
    axes.set_xlabel("ms from the insertion wake-up (median, whiskers p5 to p95)")
    axes.set_title("Read time with the 'real' simulated card")
    return _save(figure, folder / "bench-read.png")


def memory(results: dict[str, dict], folder: Path) -> Path:
    """Plot resident memory over the insert-read-remove cycles of each mode."""
    figure, axes = plt.subplots(figsize=(7, 3.2))
    for result in results.values():
        cycles = [cycle for cycle, _ in result["samples"]]
        sizes = [size / MIB for _, size in result["samples"]]
        axes.plot(cycles, sizes, marker=".", label=result["mode"])
    axes.set_xlabel("insert, read and remove cycles")
    axes.set_ylabel("resident memory, MiB")
    axes.set_ylim(bottom=0)
    axes.legend()
    axes.set_title("Agent resident memory over card cycles")
    return _save(figure, folder / "bench-memory.png")


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
