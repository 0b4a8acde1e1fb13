"""What a benchmark hands back: its figures, each measured in one or more rounds, with its goal.

A figure is reported as the median of its rounds (or another statistic, such as a p99 over
individual timings) with the rounds' spread beside it, so that a noisy machine shows as a wide
spread rather than as a result. A goal is met when every round meets it; when only the median
does, the table says so.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    name: str
    unit: str  # "×" for a ratio against the same run's baseline, "ms", "µs", "/s", "MiB", "s"
    rounds: list[float] = field(default_factory=list)
    at_most: float | None = None
    at_least: float | None = None
    database: str = ""  # set by the runner: sqlite or postgresql
    # "median" of the rounds, or "p99" when the rounds are single timings (a latency's tail).
    statistic: str = "median"

    @property
    def measured(self) -> float:
        if self.statistic == "p99":
            ordered = sorted(self.rounds)
            return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return statistics.median(self.rounds)

    @property
    def goal(self) -> str:
        if self.at_most is not None:
            return f"≤ {_number(self.at_most)}{_suffix(self.unit)}"
        if self.at_least is not None:
            return f"≥ {_number(self.at_least)}{_suffix(self.unit)}"
        return "—"

    def _meets(self, value: float) -> bool:
        if self.at_most is not None and value > self.at_most:
            return False
        return not (self.at_least is not None and value < self.at_least)

    @property
    def met(self) -> str:
        if self.at_most is None and self.at_least is None:
            return "—"
        if not self._meets(self.measured):
            return "no"
        if self.statistic == "median" and not all(self._meets(value) for value in self.rounds):
            return "median only"
        return "yes"

    @property
    def spread(self) -> str:
        if len(self.rounds) < 2:
            return "one round"
        low, high = min(self.rounds), max(self.rounds)
        what = "timings" if self.statistic == "p99" else "rounds"
        return f"{_number(low)}–{_number(high)} ({len(self.rounds)} {what})"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "unit": self.unit,
            "rounds": self.rounds,
            "at_most": self.at_most,
            "at_least": self.at_least,
            "database": self.database,
            "statistic": self.statistic,
        }


def _suffix(unit: str) -> str:
    return "" if unit == "×" else f" {unit}"


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(figures: list[Figure]) -> str:
    """One Markdown table: figure, database, goal, measured, spread of the rounds, met or not."""
    lines = [
        "| figure | database | goal | measured | rounds' spread | met |",
        "|---|---|---|---|---|---|",
    ]
    for figure in figures:
        measured = f"{_number(figure.measured)}{_suffix(figure.unit)}"
        if figure.statistic != "median":
            measured = f"{figure.statistic} {measured}"
        cells = (figure.name, figure.database, figure.goal, measured, figure.spread, figure.met)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
