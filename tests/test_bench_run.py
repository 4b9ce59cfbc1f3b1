"""The benchmark's arithmetic: medians of runs, ratios within a round."""

from __future__ import annotations

from bench.run import median_of, per_round_ratio


def _round(baseline: float, one: float) -> dict:
    return {"baseline": {"docs_per_s": baseline}, "one": {"docs_per_s": one}}


def test_a_ratio_pairs_the_runs_of_one_round_not_the_two_medians():
    # Within-round ratios 0.9, 0.8, 0.7: their median is 0.8, while the
    # medians of each side apart (20 and 18) would pair runs of different
    # rounds and say 0.9.
    rounds = [_round(20.0, 18.0), _round(10.0, 8.0), _round(40.0, 28.0)]
    assert abs(per_round_ratio(rounds, "one", "baseline") - 0.8) < 1e-12


def test_median_of_runs_goes_into_nested_figures():
    runs = [{"docs_per_s": v, "stage": {"extract": v * 2}, "label": "x"} for v in (3.0, 1.0, 2.0)]
    assert median_of(runs) == {"docs_per_s": 2.0, "stage": {"extract": 4.0}, "label": "x"}
