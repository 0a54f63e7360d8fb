"""bench/exchange.py's ratios and printed table: everything compared comes from one run."""

from __future__ import annotations

from bench._runs import CORES, IDLE_S, LOAD_PROCESSES

__all__ = ["LABELS", "WORKERS", "print_size", "summarise"]

WORKERS = 2
LABELS = {
    "gateway": "serve, SQLite (baseline)",
    "gateway_pg": "serve, PostgreSQL",
    "gateway_pg_workers": f"serve --workers {WORKERS}, PostgreSQL",
    "gateway_dev": "serve --dev, SQLite",
    "echo": "echo (parses, replies)",
}
P99_TARGET_MS = 25.0  # issue 16: p99 at half of peak load
SCALE_TARGET = 1.7  # issue 16: 2 workers / 1 process
FLOOR_TARGET = 1.5  # issue 16: CPU per exchange / floor


def _vs_echo(row: dict, echo: dict) -> dict:
    return {
        "per_s": row["peak"]["per_s"] / echo["peak"]["per_s"],
        "total_cpu_ms": row["peak"]["total_cpu_ms"] / echo["peak"]["total_cpu_ms"],
        "context_switches": row["peak"]["context_switches"]
        / max(1e-9, echo["peak"]["context_switches"]),
        "p99_half_ms": row["half_load"]["p99_ms"] / echo["half_load"]["p99_ms"],
    }


def _scaling(one: dict, several: dict) -> dict:
    """Workers / 1 process at peak, and what the machine left room for: if the idle CPU of
    the 1-process run had gone to more exchanges at that run's cost per exchange (server +
    database + load generator), throughput could have grown at most by this ceiling."""
    cost_s = (one["total_cpu_ms"] + one["client_cpu_ms"]) / 1000
    ceiling = 1 + one["machine_idle_cores"] / max(1e-9, one["per_s"] * cost_s)
    return {
        "ratio": several["per_s"] / one["per_s"],
        "ceiling_here": ceiling,
        "machine_busy_1": one["machine_busy"],
        "machine_busy_n": several["machine_busy"],
        "worker_cpu_shares": several["worker_cpu_shares"],
        "reachable_here": ceiling >= SCALE_TARGET,
    }


def summarise(rows: dict, verify_ms: float) -> dict:
    """The ratios the issue asks for, from rows measured in the same run."""
    echo = rows["echo"]
    gateways = [k for k in rows if k != "echo"]
    floor = verify_ms + echo["peak"]["server_cpu_ms"]
    result: dict = {
        "rows": rows,
        "vs_echo": {k: _vs_echo(rows[k], echo) for k in gateways},
        "floor": {
            "sm2_verify_ms": verify_ms,
            "echo_cpu_ms": echo["peak"]["server_cpu_ms"],
            "floor_ms": floor,
            # the gateway's processes and its database together
            "vs_floor": {k: rows[k]["peak"]["total_cpu_ms"] / floor for k in gateways},
            # the gateway's processes alone (PostgreSQL rows: the front end's share)
            "vs_floor_server": {k: rows[k]["peak"]["server_cpu_ms"] / floor for k in gateways},
        },
        "p99_half_ms": {k: rows[k]["half_load"]["p99_ms"] for k in rows},
    }
    if "gateway_pg" in rows and "gateway_pg_workers" in rows:
        result["workers"] = _scaling(rows["gateway_pg"]["peak"], rows["gateway_pg_workers"]["peak"])
    return result


def _row_line(label: str, peak: dict, half: dict) -> str:
    line = (
        f"  {label:<31}{peak['per_s']:>7.0f}{peak['server_cpu_ms']:>9.3f}"
        f"{peak['database_cpu_ms']:>8.3f}{peak['total_cpu_ms']:>9.3f}"
        f"{peak['context_switches']:>8.1f}{peak['p99_ms']:>9.1f}{half['p50_ms']:>9.1f}"
        f"{half['p99_ms']:>9.1f}{half['offered_per_s']:>7.0f}/s{half['total_cpu_ms']:>9.3f}"
    )
    if peak["errors"] or half["errors"]:
        line += f"  errors {peak['errors']} {half['errors']}"
    if peak["exhausted"]:
        line += "  (ran out of envelopes)"
    return line


def print_size(size: int, result: dict, failed: dict[str, str]) -> None:
    rows = result["rows"]
    print(
        f"\n{size // 1024} KiB{'':<29}{'ex/s':>7}{'gw CPU':>9}{'DB CPU':>8}{'total':>9}"
        f"{'ctxsw':>8}{'p99 pk':>9}{'p50 half':>9}{'p99 half':>9}{'half at':>9}{'CPU half':>9}"
    )
    print(f"  {'':<31}{'':>7}{'ms/ex':>9}{'ms/ex':>8}{'ms/ex':>9}{'/ex':>8}{'ms':>9}"
          f"{'ms':>9}{'ms':>9}{'':>9}{'ms/ex':>9}")  # fmt: skip
    for key, row in rows.items():
        print(_row_line(LABELS[key], row["peak"], row["half_load"]))
        if key != "echo":
            r = result["vs_echo"][key]
            print(f"  {'  vs echo':<31}{r['per_s']:>6.2f}x{'':>17}{r['total_cpu_ms']:>8.1f}x"
                  f"{r['context_switches']:>7.1f}x{'':>18}{r['p99_half_ms']:>8.1f}x")  # fmt: skip
    for key, why in failed.items():
        print(f"  {LABELS[key]:<31}not measured: {why.splitlines()[0]}")
    idle = ", ".join(
        f"{k} {r['idle']['server']:.0%}"
        + (f" + database {r['idle']['database']:.0%}" if "pg" in k else "")
        for k, r in rows.items()
        if "idle" in r
    )
    print(f"  CPU with no load (share of one core, {IDLE_S:g} s): {idle}")
    busy = ", ".join(f"{k} {r['peak']['load_process_busy']:.0%}" for k, r in rows.items())
    print(f"  load process CPU busy at peak: {busy}")
    machine = ", ".join(f"{k} {r['peak']['machine_busy']:.0%}" for k, r in rows.items())
    print(f"  machine ({CORES} cores, every tenant) busy at peak: {machine}")
    floor = result["floor"]
    print(
        f"  floor: SM2 verify {floor['sm2_verify_ms']:.3f} ms + echo CPU "
        f"{floor['echo_cpu_ms']:.3f} ms = {floor['floor_ms']:.3f} ms per exchange"
    )
    for key, multiple in floor["vs_floor"].items():
        alone = floor["vs_floor_server"][key]
        part = f" (gateway processes alone {alone:.2f}x)" if "pg" in key else ""
        print(f"  total CPU per exchange / floor, {LABELS[key]}: {multiple:.2f}x{part}"
              f" (issue 16 target <= {FLOOR_TARGET}x)")  # fmt: skip
    p99 = ", ".join(f"{LABELS[k]} {v:.1f} ms" for k, v in result["p99_half_ms"].items())
    print(f"  p99 at half load: {p99} (issue 16 target < {P99_TARGET_MS:g} ms)")
    if "workers" in result:
        _print_workers(result["workers"], rows)


def _print_workers(w: dict, rows: dict) -> None:
    shares = " / ".join(f"{s:.0%}" for s in w["worker_cpu_shares"])
    print(
        f"  {WORKERS} workers / 1 process on PostgreSQL: {w['ratio']:.2f}x "
        f"({rows['gateway_pg_workers']['peak']['per_s']:.0f} vs "
        f"{rows['gateway_pg']['peak']['per_s']:.0f}/s; issue 16 target >= {SCALE_TARGET}x); "
        f"workers' shares of the server CPU: {shares}"
    )
    print(
        f"  on {CORES} cores, with {LOAD_PROCESSES} load process(es) and PostgreSQL on the "
        f"same machine, the 1-process run left it {1 - w['machine_busy_1']:.0%} idle: at its "
        f"CPU per exchange (gateway + database + load generator) more workers could reach at "
        f"most {w['ceiling_here']:.2f}x here"
    )
    if not w["reachable_here"]:
        print(
            f"  => the >= {SCALE_TARGET}x target is UNREACHABLE on this machine: the 1-process "
            "gateway, PostgreSQL and the load generator already use the cores a second worker "
            "would need; it needs a host with idle cores for the second worker"
        )
