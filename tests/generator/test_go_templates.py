"""Alert templates rendered as Prometheus renders them, checked against promtool itself.

Each case's text is rendered by `go_templates` and written into a promtool test as the expected
annotation; promtool renders the same template with Prometheus's own engine and compares.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.go_templates import TemplateError, go_float, render
from generator.yaml_out import dump

TEMPLATES = (
    "{{ $value }}",
    "{{ $value | humanize }}",
    "{{ $value | humanizePercentage }}",
    "{{ $value | humanizeDuration }}",
    '{{ $value | printf "%.1f" }}',
    '{{ $value | printf "%.2f" }}',
)
VALUES = (
    0, 1, 60, 0.1, 0.5, 0.05, 0.0525, 0.95, 0.3333333333333333, 150, 150.25, 163.04,
    0.00042, 0.02425, 0.48, 2.5, 59.5, 3600, 86399, 691860, 1234567.0, 1e21, 1.5e-7, -0.28,
    -2, 977, 12345.678, 999999, 1e6, 123456.5, 1e15, 0.0001, 1e-5,
)  # fmt: skip


@pytest.mark.parametrize("template", TEMPLATES)
def test_rendering_matches_prometheus(template: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: run `make system-deps`"
    rules = tmp_path / "rules.yml"
    alert = {"alert": "T", "expr": "v > -1e30", "annotations": {"text": template}}
    rules.write_text(dump({"groups": [{"name": "g", "rules": [alert]}]}))
    tests = [
        {
            "interval": "1m",
            "input_series": [{"series": 'v{case="x"}', "values": repr(float(value))}],
            "alert_rule_test": [
                {
                    "alertname": "T",
                    "eval_time": "0m",
                    "exp_alerts": [
                        {
                            "exp_labels": {"case": "x"},
                            "exp_annotations": {"text": render(template, {}, value)},
                        }
                    ],
                }
            ],
        }
        for value in VALUES
        # Go's humanizeDuration converts to int64: past 2**63 the result is undefined.
        if not ("humanizeDuration" in template and abs(value) >= 2**63)
    ]
    test_file = tmp_path / "test.yml"
    test_file.write_text(dump({"rule_files": [str(rules)], "tests": tests}))
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_labels_are_rendered_and_a_missing_one_is_an_error() -> None:
    assert render("{{ $labels.instance }} down", {"instance": "a:1"}, None) == "a:1 down"
    with pytest.raises(TemplateError, match=r"\$labels.job"):
        render("{{ $labels.job }}", {}, None)


def test_a_value_shown_but_not_given_is_an_error() -> None:
    with pytest.raises(TemplateError, match="Fires"):
        render("{{ $value }}", {}, None)


@pytest.mark.parametrize("template", ["{{ $externalURL }}", "{{ $value | title }}"])
def test_what_cannot_be_rendered_is_named(template: str) -> None:
    with pytest.raises(TemplateError, match="cannot render"):
        render(template, {}, 1.0)


def test_go_float_spells_special_values_as_go_does() -> None:
    assert [go_float(v) for v in (math.nan, math.inf, -math.inf, 1e21, 1e-5, 999999.0)] == [
        "NaN",
        "+Inf",
        "-Inf",
        "1e+21",
        "1e-05",
        "999999",
    ]
    with pytest.raises(TemplateError, match="int64"):
        render("{{ $value | humanizeDuration }}", {}, 1e21)
