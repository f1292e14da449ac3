"""promcheck parses PromQL with Grafana variables and reports unknown metric names."""

from __future__ import annotations

import pytest

from api.metrics import (
    ALL_SPECS,
    API_REQUEST_DURATION,
    API_REQUESTS,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    RETRAIN_SPECS,
)
from authoring import node_exporter, promql
from generator.promcheck import (
    check_expr,
    counter_series,
    gauge_series,
    known_series,
    metric_names,
    misused_counters,
    range_windows,
    replica_problems,
    substitute_variables,
)

KNOWN = {API_REQUESTS.name, *API_REQUEST_DURATION.series_names, node_exporter.UP.name}


def test_helper_built_expression_is_clean() -> None:
    expr = promql.histogram_quantile(0.95, API_REQUEST_DURATION, by=("endpoint",), job="bike-api")
    assert check_expr(expr, KNOWN) == []


def test_unknown_metric_is_named() -> None:
    expr = f"rate(bike_rentals_total[5m]) / rate({API_REQUESTS.name}[5m])"
    assert check_expr(expr, KNOWN) == ["names unknown metric bike_rentals_total"]


def test_histogram_base_name_is_not_a_series() -> None:
    # The bare histogram name selects nothing in Prometheus; only _bucket/_sum/_count exist.
    assert check_expr(API_REQUEST_DURATION.name, KNOWN) == [
        f"names unknown metric {API_REQUEST_DURATION.name}"
    ]


def test_parse_error_is_reported() -> None:
    problems = check_expr(f"rate({API_REQUESTS.name}[5m]", KNOWN)
    assert len(problems) == 1
    assert problems[0].startswith("does not parse:")


def test_type_error_is_a_parse_error() -> None:
    # rate() of an instant vector is rejected by the parser, as by Prometheus.
    problems = check_expr(f"rate({API_REQUESTS.name})", KNOWN)
    assert problems and "matrix" in problems[0]


@pytest.mark.parametrize(
    "template",
    [
        "rate({m}[$__rate_interval])",
        "rate({m}[$__interval])",
        "increase({m}[$__range])",
        "rate({m}[${{__rate_interval}}])",
        'rate({m}{{instance=~"$instance"}}[5m])',
        'rate({m}{{instance=~"${{instance:regex}}"}}[5m])',
        'rate({m}{{instance="[[instance]]"}}[5m])',
        "increase({m}[5m]) / $__range_s",
        "rate({m}[5m:$__interval])",
    ],
)
def test_grafana_variables_are_substituted(template: str) -> None:
    assert check_expr(template.format(m=API_REQUESTS.name), KNOWN) == []


def test_variable_in_label_value_becomes_text_not_duration() -> None:
    plain = substitute_variables('up{instance="$instance"}[$__range]')
    assert plain.startswith('up{instance="var"}[')
    assert "$" not in plain


def test_dollar_inside_escaped_string_stays_in_the_string() -> None:
    assert substitute_variables(r'up{a="x\"$b"}') == r'up{a="x\"var"}'


def test_user_variable_as_metric_name_is_refused() -> None:
    assert check_expr("rate($metric[5m])", KNOWN) == [
        "template variable $metric used outside a quoted label value"
    ]


def test_name_matchers_are_collected() -> None:
    expr = f'{{__name__="{API_REQUESTS.name}"}} + {{__name__="gone_total"}}'
    assert metric_names(expr, KNOWN) == {API_REQUESTS.name, "gone_total"}
    assert check_expr(expr, KNOWN) == ["names unknown metric gone_total"]


def test_name_regex_must_match_a_known_metric() -> None:
    assert check_expr('{__name__=~"api_request_duration_seconds_.*"}', KNOWN) == []
    assert check_expr('{__name__=~"nothing_.*"}', KNOWN) == [
        "__name__ regex 'nothing_.*' matches no known metric"
    ]


def test_selectors_everywhere_in_the_tree_are_found() -> None:
    expr = (
        f"time() - max(label_replace({MODEL_LAST_EVALUATION_TIMESTAMP.name}, 'a', 'b', 'c', 'd'))"
        f" > on() group_left sum(rate({API_REQUESTS.name}[5m:1m]))"
    )
    assert metric_names(expr) == {MODEL_LAST_EVALUATION_TIMESTAMP.name, API_REQUESTS.name}


def test_known_series_covers_both_catalogs_and_the_given_records() -> None:
    known = known_series(["job:x:rate5m"])
    for spec in (*ALL_SPECS, *RETRAIN_SPECS, *node_exporter.ALL_SPECS):
        assert set(spec.series_names) <= known
    assert API_REQUEST_DURATION.name not in known
    assert "job:x:rate5m" in known and "job:x:rate5m" not in known_series()


def test_counter_series_are_counters_and_histogram_series() -> None:
    counters = counter_series()
    assert API_REQUESTS.name in counters
    assert set(API_REQUEST_DURATION.series_names) <= counters
    assert MODEL_LAST_EVALUATION_TIMESTAMP.name not in counters
    assert node_exporter.UP.name not in counters


@pytest.mark.parametrize(
    "template",
    [
        "{m}",
        "sum({m})",
        "max_over_time({m}[5m])",
        "rate({m}[5m:1m])",
        "rate({h}[5m]) / {m}",
    ],
)
def test_counter_outside_rate_is_reported(template: str) -> None:
    expr = template.format(m=API_REQUESTS.name, h=API_REQUEST_DURATION.count)
    assert misused_counters(expr, counter_series()) == [API_REQUESTS.name]


@pytest.mark.parametrize(
    "expr",
    [
        promql.rate(API_REQUESTS, by=("endpoint",)),
        promql.increase(API_REQUESTS, window="$__range", by=()),
        f"irate({API_REQUESTS.name}[1m])",
        promql.histogram_quantile(0.5, API_REQUEST_DURATION),
    ],
)
def test_counter_inside_rate_is_fine(expr: str) -> None:
    assert misused_counters(expr, counter_series()) == []


def test_range_windows_name_grafana_variables() -> None:
    expr = (
        f"rate({API_REQUESTS.name}[$__rate_interval]) + increase({API_REQUESTS.name}[$__range])"
        f" + rate({API_REQUESTS.name}[5m]) + irate({API_REQUESTS.name}[$__interval])"
    )
    assert range_windows(expr) == [
        ("rate", "$__rate_interval"),
        ("increase", "$__range"),
        ("rate", "5m"),
        ("irate", "$__interval"),
    ]


REPLICATED = ("bike-api",)


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ('model_rmse_score{job="bike-api"} > 100', "gauge model_rmse_score read per replica"),
        # No job: it may select the API's replicas.
        ("time() - model_last_evaluation_timestamp_seconds", "read per replica"),
        ('rate(api_requests_total{job="bike-api"}[5m])', "rate() of api_requests_total per"),
        (
            'avg(histogram_quantile(0.95, rate(api_request_duration_seconds_bucket{job="bike-api"}'
            "[5m])))",
            "histogram_quantile() of something other than `sum by (le",
        ),
        (
            "histogram_quantile(0.95, sum by (job) "
            '(rate(api_request_duration_seconds_bucket{job="bike-api"}[5m])))',
            "histogram_quantile() of something other than `sum by (le",
        ),
    ],
)
def test_replica_unsafe_queries_are_named(expr: str, problem: str) -> None:
    problems = replica_problems(expr, gauge_series(), counter_series(), REPLICATED)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "expr",
    [
        'max without (instance, pod) (model_rmse_score{job="bike-api"}) > 100',
        'max by (namespace, job, instance, pod) (up{job="bike-api"}) == 0',
        'absent(up{job="bike-api"})',
        'count without (v) (count_values without (instance) ("v", model_registry_version))',
        'sum by (job) (rate(api_requests_total{job="bike-api"}[5m]))',
        "histogram_quantile(0.95, sum by (le) "
        '(rate(api_request_duration_seconds_bucket{job="bike-api"}[5m])))',
        "histogram_quantile(0.95, sum without (instance) "
        '(rate(api_request_duration_seconds_bucket{job="bike-api"}[5m])))',
        # One target picked on purpose (a host's dashboard), or a job with one target per subject.
        'node_load1{job="bike-api",instance="$instance"}',
        'node_load1{job="node-exporter"}',
    ],
)
def test_replica_safe_queries_pass(expr: str) -> None:
    assert replica_problems(expr, gauge_series(), counter_series(), REPLICATED) == []
