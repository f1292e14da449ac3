"""Golden before/after cases of the review diff: one folder per case, one parametrised test."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.review import diff_trees, render
from devtools.review.render import NO_CHANGES

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
GOLDENS = (("markdown", "expected.md"), ("text", "expected.txt"))
UPDATE = "pytest tests/review --update-goldens"

# What each case is about, asserted on its own so a golden rewritten blindly cannot hide a
# wrong diff: lines that must appear in the text output (or the empty report).
MUST_SAY = {
    "panel_added": ["+ panel `Requests by endpoint` added (timeseries, unit `reqps`, 1 query)"],
    "panel_moved": ["> panel `Error ratio` moved from row `Traffic` to row `Errors`"],
    "query_changed": [
        "~ panel `Latency p50 / p95`: query A expr `histogram_quantile(0.95, sum by (le) (",
        "~ panel `Latency p50 / p95`: query A legend `p95` → `p99 {{endpoint}}`",
    ],
    "threshold_changed": [
        "~ panel `Error ratio`: thresholds `green, red from 0.05` → `green, red from 0.1`",
        "~ alert `DemoHighErrorRate`: threshold `> 0.05` → `> 0.1`",
        "~ Grafana alert `DemoHighErrorRate`: C threshold `$B > 0.05` → `$B > 0.1`",
    ],
    "alert_for_changed": [
        "~ alert `DemoHighErrorRate`: for `5m` → `10m`",
        "~ Grafana alert `DemoHighErrorRate`: for `5m` → `10m`",
    ],
    "ids_and_order_only": [NO_CHANGES],
    "panel_and_row_renamed": [
        "~ row `Latency` renamed to `Response time`",
        "~ panel `Request rate` renamed to `Requests per second`",
    ],
    "settings_and_variables": [
        "~ dashboard: refresh `30s` → `1m`",
        "~ dashboard: time range `now-6h to now` → `now-24h to now`",
        "+ variable `$endpoint` added (query)",
        "~ panel `Errors by status`: type `barchart` → `timeseries`",
    ],
    "alert_rules_changed": [
        "~ alert `DemoApiDown`: severity `critical` → `warning`",
        "+ alert `DemoHighLatency` added (for `10m`, severity `warning`)",
        "- recording rule `job:demo_requests_5xx:ratio_rate5m` removed",
        "~ Grafana alert `DemoHighErrorRate` renamed to `DemoErrorRatioHigh`",
    ],
    "panel_options_changed": [
        "~ panel `Request rate`: options.legend.placement `bottom` → `right`",
        "+ panel `Request rate`: query A instant added: `true`",
    ],
    # Two panels titled "Error ratio" (a stat and a time series): the time series moved.
    "duplicate_titles": [
        "> panel `Error ratio` moved from row `Traffic` to row `Errors`",
        "~ panel `Error ratio`: unit `percentunit` → `percent`",
    ],
    "configs_changed": [
        "~ `global.scrape_interval`: `15s` → `30s`",
        "+ scrape job `node-exporter` added",
        "~ datasource `Prometheus`: url `http://prometheus:9090` → `http://prometheus:9091`",
    ],
}


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", CASES)
def test_case_matches_its_goldens(case: str, update_goldens: bool) -> None:
    folder = CASES_DIR / case
    report = diff_trees(_tree(folder / "before"), _tree(folder / "after"), "before", "after")
    for fmt, name in GOLDENS:
        output = render(report, fmt)
        golden = folder / name
        if update_goldens:
            golden.write_text(output, encoding="utf-8")
            continue
        assert golden.is_file(), f"{golden} missing: run `{UPDATE}`"
        assert output == golden.read_text(encoding="utf-8"), f"stale golden: run `{UPDATE}`"
    text = render(report, "text")
    for line in MUST_SAY[case]:
        assert line in text
    # Ids, versions and key order are never changes; one line per change, never a dump.
    assert " id " not in text and "version" not in text
    assert report.empty == (case == "ids_and_order_only")


def test_every_case_states_what_it_is_about() -> None:
    assert sorted(MUST_SAY) == CASES


def test_a_moved_panel_is_one_line_not_gridpos_noise() -> None:
    folder = CASES_DIR / "panel_moved"
    report = diff_trees(_tree(folder / "before"), _tree(folder / "after"))
    changes = [c for s in report.sections for c in s.changes]
    assert [(c.action, c.subject) for c in changes] == [
        ("changed", "panel `Request rate`"),  # it grew to fill the row: its size, once
        ("moved", "panel `Error ratio`"),
    ]
    assert "gridPos" not in render(report, "markdown")


def test_markdown_has_a_heading_per_dashboard_and_rule_group() -> None:
    folder = CASES_DIR / "threshold_changed"
    markdown = render(diff_trees(_tree(folder / "before"), _tree(folder / "after")), "markdown")
    headings = [line for line in markdown.splitlines() if line.startswith("### ")]
    assert headings == [
        "### Dashboard `Demo API` (changed)",
        "### Rule group `demo-alerts` (changed)",
        "### Grafana alert group `demo/demo-alerts` (changed)",
    ]
