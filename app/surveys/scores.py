"""CSAT and NPS from scores: pure functions that the surveys and the reports share.

CSAT is reported both as the average score (1–5) and as the share of satisfied answers
(4 or 5), the way most tools quote it. NPS is the percentage of promoters (9–10) minus the
percentage of detractors (0–6), from −100 to +100; passives (7–8) count only in the total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Csat:
    answers: int
    average: float | None  # None without answers
    satisfied_percent: float | None  # share of 4 and 5
    distribution: dict[int, int]  # score → count, 1..5 all present


@dataclass(frozen=True, slots=True)
class Nps:
    answers: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # −100..100; None without answers


def csat(scores: Iterable[int]) -> Csat:
    return csat_of_counts(Counter(_checked(scores, 1, 5)))


def csat_of_counts(counts: Mapping[int, int]) -> Csat:
    """From how many answers gave each score (the reports count them in the database)."""
    _checked(counts, 1, 5)
    total = sum(counts.values())
    distribution = {s: counts.get(s, 0) for s in range(1, 6)}
    if not total:
        return Csat(0, None, None, distribution)
    average = sum(s * n for s, n in counts.items()) / total
    satisfied = 100 * (distribution[4] + distribution[5]) / total
    return Csat(total, average, satisfied, distribution)


def nps(scores: Iterable[int]) -> Nps:
    return nps_of_counts(Counter(_checked(scores, 0, 10)))


def nps_of_counts(counts: Mapping[int, int]) -> Nps:
    """From how many answers gave each score."""
    _checked(counts, 0, 10)
    total = sum(counts.values())
    promoters = counts.get(9, 0) + counts.get(10, 0)
    passives = counts.get(7, 0) + counts.get(8, 0)
    detractors = total - promoters - passives
    score = 100 * (promoters - detractors) / total if total else None
    return Nps(total, promoters, passives, detractors, score)


def _checked(scores: Iterable[int], low: int, high: int) -> list[int]:
    values = list(scores)
    for value in values:
        if not low <= value <= high:
            raise ValueError(f"score {value} is outside {low}–{high}")
    return values
