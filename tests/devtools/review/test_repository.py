"""The review diff on the real repository: empty against itself, blind to ids/order; git refs."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.review import diff_trees, render
from devtools.review.__main__ import main
from devtools.review.git import GitError, default_base, read_tree
from generator.generate import DEFAULT_OUT, build_all


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return build_all()


def test_the_repository_against_itself_has_no_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `make generate` writes generated/ from the same sources: a current tree diffs empty.
    assert main(["diff", "--base-dir", str(DEFAULT_OUT), "--exit-code"]) == 0, capsys.readouterr()
    assert capsys.readouterr().out.endswith("No changes.\n")


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def _reshuffled(files: dict[str, str]) -> dict[str, str]:
    """The same tree as Grafana or a hand would save it: other ids, versions, key and list order."""
    shuffle = random.Random(11).shuffle
    out = {}
    for path, text in files.items():
        if path.startswith("grafana/dashboards/"):
            dashboard = json.loads(text)
            shuffle(dashboard["panels"])
            for n, panel in enumerate(dashboard["panels"]):
                panel["id"] = 1000 - n
            dashboard["version"] = dashboard.get("version", 0) + 7
            out[path] = json.dumps(_reversed_keys(dashboard), indent=4)
        elif path.endswith((".yml", ".yaml")):
            data = _reversed_keys(yaml.safe_load(text))
            for group in data.get("groups") or [] if isinstance(data, dict) else []:
                group.get("rules", []).reverse()
            out[path] = yaml.safe_dump(data, sort_keys=False)
        else:
            out[path] = text
    return out


def test_ids_versions_and_order_of_the_real_output_are_not_changes(fresh: dict[str, str]) -> None:
    reshuffled = _reshuffled(fresh)
    assert reshuffled != fresh
    report = diff_trees(reshuffled, fresh)
    assert report.empty, render(report, "text")


def test_one_real_unit_change_is_one_line(fresh: dict[str, str]) -> None:
    path = next(p for p in fresh if p.startswith("grafana/dashboards/"))
    dashboard = json.loads(fresh[path])
    panel = next(p for p in dashboard["panels"] if p["type"] != "row")
    panel["fieldConfig"]["defaults"]["unit"] = "bikewatch-test-unit"
    after = {**fresh, path: json.dumps(dashboard)}
    report = diff_trees(fresh, after)
    changes = [c for s in report.sections for c in s.changes]
    assert [(c.aspect, c.after) for c in changes] == [("unit", "bikewatch-test-unit")]


def _git(repo: Path, *args: str) -> str:
    identity = ("-c", "user.name=review test", "-c", "user.email=review@example.invalid")
    done = subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def test_read_tree_reads_generated_at_a_ref(repo: Path) -> None:
    _commit(repo, {"generated/a.yml": "one\n", "generated/sub/b.json": "{}\n", "x.txt": "-\n"}, "1")
    _commit(repo, {"generated/a.yml": "two\n"}, "2")
    (repo / "generated/a.yml").write_text("uncommitted\n")
    assert read_tree(repo, "HEAD~1") == {"a.yml": "one\n", "sub/b.json": "{}\n"}
    assert read_tree(repo, "HEAD")["a.yml"] == "two\n"


def test_default_base_is_head_on_main_and_the_merge_base_on_a_branch(repo: Path) -> None:
    assert default_base(repo) is None  # no commit yet
    first = _commit(repo, {"generated/a.yml": "one\n"}, "1")
    assert default_base(repo) == "HEAD"
    _git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, {"generated/a.yml": "two\n"}, "2")
    assert default_base(repo) == first


def test_an_unknown_ref_is_named_in_the_error(repo: Path) -> None:
    _commit(repo, {"generated/a.yml": "one\n"}, "1")
    with pytest.raises(GitError, match="no-such-ref"):
        read_tree(repo, "no-such-ref")


def test_cli_reports_a_bad_base_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--base", "refs/heads/no-such-branch-for-review"]) == 2
    assert "no-such-branch-for-review" in capsys.readouterr().err
