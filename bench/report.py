"""The bench's table, its section of docs/benchmarks.md and its plot. Plain Python (the plot
needs matplotlib, from the ``bench`` extra), so the smoke test runs it on made-up rounds."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

BEGIN = "<!-- make bench: latest run (bench/run.py rewrites this section) -->"
END = "<!-- make bench: end of latest run -->"


@dataclass(frozen=True)
class Round:
    """One measured round and the floor round just before it, on the same server."""

    case: str  # e.g. "list.big"
    number: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    floor_rps: float


@dataclass(frozen=True)
class Row:
    measure: str
    now: str
    goal: str
    met: bool | None
    queries: str
    p50: str
    p99: str


class Results:
    def __init__(
        self,
        rounds: Iterable[Round],
        queries: dict[str, int],
        races: dict[str, dict],
        sizes: dict[str, int],
    ):
        self.rounds = list(rounds)
        self.queries = queries
        self.races = races
        self.sizes = sizes  # "big"/"small" -> clients

    def of(self, case: str) -> list[Round]:
        return [r for r in self.rounds if r.case == case]

    def has(self, case: str) -> bool:
        return any(r.case == case for r in self.rounds)

    def median(self, case: str, attribute: str) -> float:
        values = [getattr(r, attribute) for r in self.of(case)]
        return statistics.median(values) if values else float("nan")

    def to_floor(self, case: str) -> float:
        """Throughput over the floor's, round by round (each with its own floor), median."""
        values = [r.rps / r.floor_rps for r in self.of(case) if r.floor_rps]
        return statistics.median(values) if values else float("nan")

    def paired(self, a: str, b: str, *, normalised: bool = False) -> float:
        """Median over rounds of a's throughput over b's in the same round."""
        by_round = {r.number: r for r in self.of(b)}
        values = []
        for r in self.of(a):
            other = by_round.get(r.number)
            if other is None or not other.rps:
                continue
            if normalised:
                values.append((r.rps / r.floor_rps) / (other.rps / other.floor_rps))
            else:
                values.append(r.rps / other.rps)
        return statistics.median(values) if values else float("nan")

    def q(self, case: str) -> str:
        value = self.queries.get(case)
        return "–" if value is None else str(value)


def _ms(value: float) -> str:
    if value != value:  # nan
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _x(value: float) -> str:
    if value != value:
        return "not measured"
    return f"{value:.3f}×" if value < 0.1 else f"{value:.2f}×"


def rows(res: Results) -> list[Row]:
    out: list[Row] = []
    big, small = res.sizes.get("big", 0), res.sizes.get("small", 0)
    scale = f"{big:,} vs {small:,} clients"
    at = f"{big // 1000}k" if big >= 1000 else str(big)

    def lat(case: str, attr: str) -> str:
        return _ms(res.median(case, attr))

    if res.has("floor.big"):
        out.append(
            Row(
                f"Floor: one-primary-key SELECT view (our app, {at})",
                f"{res.median('floor.big', 'rps'):.0f} req/s",
                "(the unit)",
                None,
                res.q("floor.big"),
                lat("floor.big", "p50_ms"),
                lat("floor.big", "p99_ms"),
            )
        )
    if res.has("json.big"):
        out.append(
            Row(
                f"Floor: bare JSON view (our app, {at})",
                f"{res.median('json.big', 'rps'):.0f} req/s",
                "",
                None,
                res.q("json.big"),
                lat("json.big", "p50_ms"),
                lat("json.big", "p99_ms"),
            )
        )
    if res.has("elig.big"):
        ratio = res.to_floor("elig.big")
        out.append(
            Row(
                "P1 eligibility `GET /api/clients/{id}/eligibility/`",
                f"{_x(ratio)} floor",
                "≥ 0.5×",
                ratio >= 0.5,
                res.q("elig.big"),
                lat("elig.big", "p50_ms"),
                lat("elig.big", "p99_ms"),
            )
        )
    for case, label in (("list", "client list `/clients/`"), ("search", "client search")):
        if res.has(f"{case}.big") and res.has(f"{case}.small"):
            ratio = res.to_floor(f"{case}.big") / res.to_floor(f"{case}.small")
            raw = res.paired(f"{case}.big", f"{case}.small")
            out.append(
                Row(
                    f"P2 {label}, {scale} (each to its floor; raw {raw:.3f})",
                    f"{ratio:.3f}",
                    "≥ 0.8",
                    ratio >= 0.8,
                    f"{res.q(case + '.big')} / {res.q(case + '.small')}",
                    f"{lat(case + '.big', 'p50_ms')} / {lat(case + '.small', 'p50_ms')}",
                    f"{lat(case + '.big', 'p99_ms')} / {lat(case + '.small', 'p99_ms')}",
                )
            )
    if res.has("series.big") and res.has("single.big"):
        times = res.paired("single.big", "series.big")
        out.append(
            Row(
                f"P3 15-session series vs one single booking (time per booking, {at})",
                f"{times:.2f}× the time",
                "≤ 3×",
                times <= 3,
                f"{res.q('series.big')} / {res.q('single.big')}",
                f"{lat('series.big', 'p50_ms')} / {lat('single.big', 'p50_ms')}",
                f"{lat('series.big', 'p99_ms')} / {lat('single.big', 'p99_ms')}",
            )
        )
    for case, label in (
        ("week", "esthetician's week `/calendar/`"),
        ("day", "front desk's day `/schedule/`"),
        ("client", "client page `/clients/{id}/`"),
    ):
        if res.has(f"{case}.big"):
            ratio = res.to_floor(f"{case}.big")
            queries = res.queries.get(f"{case}.big")
            out.append(
                Row(
                    f"P5 {label} ({at})",
                    f"{_x(ratio)} floor",
                    "≥ 0.3×, ≤ 12 queries",
                    ratio >= 0.3 and queries is not None and queries <= 12,
                    res.q(f"{case}.big"),
                    lat(f"{case}.big", "p50_ms"),
                    lat(f"{case}.big", "p99_ms"),
                )
            )
    if res.has("avail.big") and res.has("peer.slots"):
        ratio = res.paired("avail.big", "peer.slots")
        norm = res.paired("avail.big", "peer.slots", normalised=True)
        out.append(
            Row(
                "P6 our `GET /api/availability/` vs django-appointment's day slot list "
                f"(same day, staff member, data volume; each to its floor: {norm:.2f}×)",
                f"{_x(ratio)} its speed",
                "≥ 10×",
                ratio >= 10,
                f"{res.q('avail.big')} / {res.q('peer.slots')}",
                f"{lat('avail.big', 'p50_ms')} / {lat('peer.slots', 'p50_ms')}",
                f"{lat('avail.big', 'p99_ms')} / {lat('peer.slots', 'p99_ms')}",
            )
        )
    if res.has("single.big") and res.has("peer.book"):
        ratio = res.paired("single.big", "peer.book")
        norm = res.paired("single.big", "peer.book", normalised=True)
        out.append(
            Row(
                "P6 our booking `POST /api/sessions/` vs django-appointment's "
                f"(staff's create-appointment call; each to its floor: {norm:.2f}×)",
                f"{_x(ratio)} its speed",
                "≥ 5×",
                ratio >= 5,
                f"{res.q('single.big')} / {res.q('peer.book')}",
                f"{lat('single.big', 'p50_ms')} / {lat('peer.book', 'p50_ms')}",
                f"{lat('single.big', 'p99_ms')} / {lat('peer.book', 'p99_ms')}",
            )
        )
    if "ours" in res.races and "peer" in res.races:
        ours, peer = res.races["ours"], res.races["peer"]
        out.append(
            Row(
                f"P6 {ours['sent']}-way race for one slot: bookings that got in (counted "
                "in the database)",
                f"ours {ours['stored']}, django-appointment {peer['stored']}",
                "ours 1",
                ours["stored"] == 1,
                "",
                "",
                "",
            )
        )
    return out


def table(res: Results) -> str:
    lines = [
        "| measure | now | goal | met | queries/request | p50 ms | p99 ms |",
        "|---|---:|---:|:---:|---:|---:|---:|",
    ]
    for row in rows(res):
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.measure} | {row.now} | {row.goal} | {met} | {row.queries} | "
            f"{row.p50} | {row.p99} |"
        )
    return "\n".join(lines)


ENDPOINTS = (
    ("elig", "P1 eligibility API"),
    ("list", "client list"),
    ("search", "client search"),
    ("week", "esthetician's week"),
    ("day", "front desk's day"),
    ("client", "client page"),
    ("avail", "availability API (one day)"),
    ("floor", "floor: one-PK SELECT"),
    ("json", "floor: bare JSON"),
)


def detail(res: Results) -> str:
    """Every GET endpoint at both sizes: req/s, p50, p99 and the rounds' sample size."""
    lines = [
        "| endpoint | size | req/s | × floor | p50 ms | p99 ms | requests (all rounds) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in ENDPOINTS:
        for size in ("small", "big"):
            case = f"{key}.{size}"
            if not res.has(case):
                continue
            to_floor = "1" if key == "floor" else _x(res.to_floor(case)).rstrip("×")
            lines.append(
                f"| {label} | {res.sizes.get(size, 0):,} | {res.median(case, 'rps'):.1f} | "
                f"{to_floor} | {_ms(res.median(case, 'p50_ms'))} | "
                f"{_ms(res.median(case, 'p99_ms'))} | {sum(r.requests for r in res.of(case))} |"
            )
    return "\n".join(lines)


def plot(res: Results, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    sizes = [res.sizes["small"], res.sizes["big"]]
    for key, label in ENDPOINTS:
        cases = [f"{key}.small", f"{key}.big"]
        if not all(res.has(c) for c in cases):
            continue
        ax.plot(sizes, [res.median(c, "p50_ms") for c in cases], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("clients in the database (sessions: 3 per client)")
    ax.set_ylabel("p50 latency, ms (16 connections, 2 workers)")
    ax.set_title("Latency against data size (make bench)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def docs_write(doc: Path, section: str) -> None:
    """Put ``section`` between the markers in ``doc``, or at its end the first time."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)
