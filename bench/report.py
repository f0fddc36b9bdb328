"""Turn ``bench/results/*.json`` into tables and the plots of the results page.

``python -m bench.report`` writes ``bench/results/summary.md`` (the tables
that ``docs/performance.md`` quotes) and ``docs/images/bench-*.png``. It
reads only the results files, so it needs no PC/SC stack, and it runs on
the main thread. matplotlib is needed for the plots only.
"""

import json
import sys
from pathlib import Path
from typing import Any

from trayagent.simcard.profiles import REAL_APDU_DELAY, REAL_BYTE_DELAY

from . import REPOSITORY, RESULTS_DIR

IMAGES_DIR = REPOSITORY / "docs" / "images"
SUMMARY_PATH = RESULTS_DIR / "summary.md"
MIB = 1024 * 1024


def main() -> int:
    """Write the summary and the plots from whatever results exist."""
    results = {
        path.stem: json.loads(path.read_text())
        for path in sorted(RESULTS_DIR.glob("*.json"))
    }
    if not results:
        print(
            f"No results in {RESULTS_DIR}; run python -m bench first", file=sys.stderr
        )
        return 1
    SUMMARY_PATH.write_text(_summary(results))
    print(f"Wrote {SUMMARY_PATH}")
    for path in _plots(results):
        print(f"Wrote {path}")
    return 0


def _row(label: str, stats: dict[str, Any], scale: float = 1.0, digits: int = 1) -> str:
    if not stats.get("n"):
        return f"| {label} | 0 | | | | | |"
    values = [stats[key] * scale for key in ("p5", "p50", "p95", "min", "max")]
    cells = " | ".join(f"{value:.{digits}f}" for value in values)
    return f"| {label} | {stats['n']} | {cells} |"


_HEADER = (
    "| | n | p5 | p50 | p95 | min | max |\n| --- | --- | --- | --- | --- | --- | --- |"
)


def _summary(results: dict[str, dict]) -> str:
    sections = [_machine(results)]
    for name, writer in _SECTIONS.items():
        if name in results:
            sections.append(writer(results[name]))
    return "\n\n".join(sections) + "\n"


def _machine(results: dict[str, dict]) -> str:
    machine = next(iter(results.values()))["machine"]
    runs = ", ".join(f"{name} {record['started']}" for name, record in results.items())
    return (
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Linux "
        f"{machine['kernel']}, Python {machine['python']}, pcsc-lite "
        f"{machine['pcsc_lite']}, pyscard {machine['pyscard']}, aiohttp "
        f"{machine['aiohttp']}.\n\nRuns (UTC): {runs}."
    )


def _latency(record: dict) -> str:
    summary = record["result"]["summary"]
    return "\n".join(
        [
            "Event latency, ms after the observer's wake-up",
            "",
            _HEADER,
            _row("card.inserted", summary["inserted_ms"], digits=2),
            _row("card.removed", summary["removed_ms"], digits=2),
        ]
    )


def _read(record: dict) -> str:
    result = record["result"]
    summary = result["summary"]
    lines = [
        "Read time, ms after the observer's insertion wake-up (`real` card)",
        "",
        _HEADER,
        _row("floor: text fields", summary["floor_text_ms"]),
        _row("agent: card.read", summary["agent_read_ms"]),
        _row("floor: photo", summary["floor_photo_ms"]),
        _row("agent: card.photo", summary["agent_photo_ms"]),
    ]
    if "peer_ms" in summary:
        lines.append(_row("pythaiidcard 0.3.0: read_card", summary["peer_ms"]))
    if "fast" in summary:
        fast = summary["fast"]
        lines += [
            "",
            "The same with the `fast` card, which answers at once",
            "",
            _HEADER,
            _row("floor: text fields", fast["floor_text_ms"], digits=2),
            _row("agent: card.read", fast["agent_read_ms"], digits=2),
            _row("floor: photo", fast["floor_photo_ms"], digits=2),
            _row("agent: card.photo", fast["agent_photo_ms"], digits=2),
            _row("agent: read duration_ms", fast["agent_read_duration_ms"], digits=2),
            _row("agent: photo duration_ms", fast["agent_photo_duration_ms"], digits=2),
            "",
            _HEADER,
        ]
    if summary.get("agent_cpu_ms", {}).get("n"):
        lines.append(_row("agent CPU time per read", summary["agent_cpu_ms"]))
    lines += ["", "Card traffic per read (from the simulated card)", ""]
    lines += _traffic_table(result)
    if not result["peer"].get("measured"):
        lines += ["", f"Peer not measured: {result['peer']['reason']}"]
    lines += ["", f"Agent retries logged: {len(result['agent_retries'])}"]
    lines.append(f"Floor retries: {summary['floor_retries']}")
    return "\n".join(lines)


_TRAFFIC_HEADER = [
    "| | SELECT | READ BINARY | GET RESPONSE | other | response bytes "
    "| card time, ms |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]


def _traffic_table(result: dict) -> list[str]:
    sources = {"floor": result["floor"], "agent": result["agent"]}
    if result["peer"].get("measured"):
        sources["pythaiidcard"] = result["peer"]["reads"]
    rows = list(_TRAFFIC_HEADER)
    for label, records in sources.items():
        traffic = records[0].get("traffic") if records else None
        if traffic:
            rows.append(_traffic_row(label, traffic))
    return rows


def _traffic_row(label: str, traffic: dict) -> str:
    """Return one table row; card time is what the ``real`` profile sleeps."""
    commands = dict(traffic["commands"])
    total = sum(commands.values())
    known = [commands.pop(ins, 0) for ins in ("A4", "B0", "C0")]
    other = sum(commands.values())
    card_ms = 1000 * (
        total * REAL_APDU_DELAY + traffic["response_bytes"] * REAL_BYTE_DELAY
    )
    cells = " | ".join(str(count) for count in known)
    return (
        f"| {label} | {cells} | {other} | {traffic['response_bytes']} | {card_ms:.0f} |"
    )


def _fanout(record: dict) -> str:
    result = record["result"]
    series = [result]
    if "raised_limit" in result:
        series.append(result["raised_limit"])
    return "\n\n".join(_fanout_series(item) for item in series)


def _fanout_series(result: dict) -> str:
    lines = [
        f"Fan-out to {result['clients']} clients: spread between the first and "
        "the last client, ms",
        "",
        _HEADER,
    ]
    lines += [_row(kind, stats, digits=2) for kind, stats in result["summary"].items()]
    status = result["extra_connection_status"]
    lines += ["", f"Connection {result['clients'] + 1}: HTTP {status or 'admitted'}"]
    return "\n".join(lines)


def _startup(record: dict) -> str:
    result = record["result"]
    loaded = ", ".join(result["tray_modules_loaded"]) or "none"
    largest = ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in result["largest_imports"][:5]
    )
    return "\n".join(
        [
            "Start-up, ms from process start to /api/status answering",
            "",
            _HEADER,
            _row("/api/status", result["summary"]["status_ms"]),
            "",
            f"Modules imported: {result['modules_imported']}, top-level import "
            f"time {result['import_seconds'] * 1000:.0f} ms. Largest: {largest}.",
            f"Tray modules loaded on the headless path: {loaded}.",
            f"Pillow modules loaded: {_listed(result.get('pillow_modules_loaded'))}.",
        ]
    )


def _listed(names: list[str] | None) -> str:
    if names is None:
        return "not recorded"
    return ", ".join(names) or "none"


def _idle(record: dict) -> str:
    result = record["result"]
    lines = [
        f"Idle cost over {result['seconds']:.0f} s windows, CPU seconds",
        "",
        "| | agent (stat ticks) | agent (schedstat) | agent per minute | pcscd |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in ("empty", "card_resting"):
        window = result[label]
        lines.append(
            f"| {label.replace('_', ' ')} | {window['agent_ticks_s']:.3f} | "
            f"{window['agent_scheduled_s']:.4f} | {window['agent_per_minute_s']:.4f} | "
            f"{window['pcscd_scheduled_s']:.4f} |"
        )
    return "\n".join(lines)


def _memory(record: dict) -> str:
    result = record["result"]
    summary = result["summary"]
    lines = [
        f"Memory, {result['mode']}: {result['cycles']} cycles in "
        f"{result['elapsed_s']:.0f} s",
        "",
        f"- after start: {summary['start_bytes'] / MIB:.1f} MiB",
    ]
    if "baseline_bytes" in summary:
        lines += [
            f"- after cycle {summary['baseline_cycle']}: "
            f"{summary['baseline_bytes'] / MIB:.1f} MiB",
            f"- after cycle {summary['end_cycle']}: "
            f"{summary['end_bytes'] / MIB:.1f} MiB "
            f"({summary['growth_after_baseline'] * 100:+.2f} %)",
            f"- slope: {summary['bytes_per_cycle']:.0f} bytes per cycle",
        ]
    if "estimated_bytes_at_1000" in summary:
        lines.append(
            "- estimate at cycle 1000: "
            f"{summary['estimated_bytes_at_1000'] / MIB:.1f} MiB "
            f"({summary['estimated_growth_at_1000'] * 100:+.2f} %)"
        )
    if result["tray_shown"] is not None:
        lines.append(f"- tray icon shown: {result['tray_shown']}")
    return "\n".join(lines)


def _optional(record: dict) -> str:
    result = record["result"]
    if not result["measured"]:
        return f"Optional reads not measured: {result['reason']}"
    lines = [
        "Optional reads, ms after the insertion wake-up "
        f"({result['trials']} reads each)",
        "",
        _HEADER,
    ]
    traffic_rows = list(_TRAFFIC_HEADER)
    for label, configuration in result["configurations"].items():
        for kind, stats in configuration["messages_ms"].items():
            lines.append(_row(f"{label}: {kind}", stats))
        if configuration["traffic"]:
            traffic_rows.append(_traffic_row(label, configuration["traffic"]))
    lines += ["", "Card traffic per read", "", *traffic_rows]
    return "\n".join(lines)


_SECTIONS = {
    "latency": _latency,
    "read": _read,
    "optional": _optional,
    "fanout": _fanout,
    "startup": _startup,
    "idle": _idle,
    "memory-headless": _memory,
    "memory-tray": _memory,
}


def _plots(results: dict[str, dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    if "latency" in results:
        written.append(plots.latency(results["latency"]["result"], IMAGES_DIR))
    if "read" in results:
        written.append(plots.read_times(results["read"]["result"], IMAGES_DIR))
    memory = {
        name: results[name]["result"] for name in results if name.startswith("memory")
    }
    if memory:
        written.append(plots.memory(memory, IMAGES_DIR))
    return written


if __name__ == "__main__":
    sys.exit(main())
