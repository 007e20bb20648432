"""The CSAT and NPS formulas against data sets worked out by hand."""

from __future__ import annotations

import pytest

from app.surveys.scores import csat, nps


def test_nps_is_promoters_minus_detractors_in_percent() -> None:
    # 10 answers: promoters 9, 10, 10, 9 (4); passives 7, 8 (2); detractors 0, 6, 3, 5 (4).
    result = nps([9, 10, 10, 9, 7, 8, 0, 6, 3, 5])
    assert (result.answers, result.promoters, result.passives, result.detractors) == (10, 4, 2, 4)
    assert result.score == 0.0  # 40 % − 40 %


def test_nps_of_a_mostly_happy_set() -> None:
    # 8 answers: 5 promoters (62.5 %), 2 passives, 1 detractor (12.5 %): NPS 50.
    result = nps([10, 9, 9, 10, 10, 8, 7, 6])
    assert result.score == 50.0
    assert nps([10]).score == 100.0
    assert nps([0, 6]).score == -100.0
    assert nps([7, 8]).score == 0.0


def test_csat_average_share_and_distribution() -> None:
    # 1, 2, 4, 4, 5, 5, 5: sum 26 over 7 = 3.714…; satisfied (4–5) 5 of 7 = 71.43 %.
    result = csat([5, 4, 1, 5, 2, 4, 5])
    assert result.answers == 7
    assert result.average == pytest.approx(26 / 7)
    assert result.satisfied_percent == pytest.approx(500 / 7)
    assert result.distribution == {1: 1, 2: 1, 3: 0, 4: 2, 5: 3}


def test_no_answers_is_no_score_not_zero() -> None:
    assert nps([]).score is None
    empty = csat([])
    assert (empty.average, empty.satisfied_percent) == (None, None)
    assert empty.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}


@pytest.mark.parametrize(("formula", "bad"), [(csat, 0), (csat, 6), (nps, 11), (nps, -1)])
def test_out_of_range_scores_are_refused(formula: object, bad: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        formula([bad])  # type: ignore[operator]
