"""When a test's expression first holds: stated, derived from a gauge, or from constant rates."""

from __future__ import annotations

from api.metrics import API_REQUESTS, MODEL_R2, MODEL_RMSE
from authoring.promql import rate, sel
from authoring.rules_dsl import AlertingRule, AlertTest, Fires, Series, Threshold
from generator.onsets import onset_seconds


def _alert(**kwargs: object) -> AlertingRule:
    return AlertingRule(
        name="Case", for_="1m", severity="info", summary="{{ $value }}", description="d",
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def _test(*series: Series, onset: str | None = None) -> AlertTest:
    return AlertTest("t", series, fires=(Fires({}, 1),), onset=onset)


def test_a_gauge_threshold_holds_at_the_first_sample_past_it() -> None:
    alert = _alert(threshold=Threshold(sel(MODEL_RMSE, job="a"), ">", 100))
    assert onset_seconds(alert, _test(Series(sel(MODEL_RMSE), "40 40 150x5"))) == 120
    assert onset_seconds(alert, _test(Series(sel(MODEL_RMSE), "40 100 101"))) == 120
    assert onset_seconds(alert, _test(Series(sel(MODEL_RMSE), "40x9"))) is None


def test_the_comparison_of_the_threshold_is_used() -> None:
    alert = _alert(threshold=Threshold(sel(MODEL_R2), "<", 0.3))
    assert onset_seconds(alert, _test(Series(sel(MODEL_R2), "0.8 0.5 0.2x3"))) == 120


def test_constant_rates_hold_once_the_window_has_two_samples() -> None:
    alert = _alert(threshold=Threshold(rate(API_REQUESTS, by=(), window="5m"), ">", 0.5))
    assert onset_seconds(alert, _test(Series(sel(API_REQUESTS), "0+60x20"))) == 60


def test_a_stated_onset_wins_and_other_shapes_need_one() -> None:
    alert = _alert(expression=f"{sel(MODEL_R2)} < 0.3 and {sel(MODEL_RMSE)} > 1")
    mixed = (Series(sel(MODEL_R2), "0 0.1x5"), Series(sel(MODEL_RMSE), "5x5"))
    assert onset_seconds(alert, _test(*mixed)) is None
    assert onset_seconds(alert, _test(*mixed, onset="3m")) == 180
