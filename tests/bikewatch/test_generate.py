"""The generate entry point: atomic writes and a check that names stale, missing, extra files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bikewatch import generate


def test_write_replaces_the_folder_exactly(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    generate.write({"a/x.json": "1\n", "b.yml": "2\n"}, out)
    generate.write({"a/x.json": "3\n"}, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a/x.json"
    ]
    assert (out / "a/x.json").read_text() == "3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["generated"]  # no temporary left behind


def test_check_names_stale_missing_and_extra_files(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    generate.write({"same.txt": "s\n", "stale.txt": "old\n", "extra.txt": "e\n"}, out)
    problems = generate.check({"same.txt": "s\n", "stale.txt": "new\n", "new.txt": "n\n"}, out)
    assert [p.splitlines()[0] for p in problems] == [
        "extra (no source writes it): generated/extra.txt",
        "missing: generated/new.txt",
        "stale: generated/stale.txt",
    ]
    assert "-old" in problems[2] and "+new" in problems[2]


def test_check_passes_on_a_current_tree(tmp_path: Path) -> None:
    files = {"x/y.txt": "y\n"}
    generate.write(files, tmp_path / "g")
    assert generate.check(files, tmp_path / "g") == []


def test_cli_check_fails_with_the_fixing_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate.main(["--check", "--out", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert "missing: generated/README.md" in err
    assert "run `make generate`" in err


def test_cli_writes_then_checks_clean(tmp_path: Path) -> None:
    out = tmp_path / "g"
    assert generate.main(["--out", str(out)]) == 0
    assert generate.main(["--check", "--out", str(out)]) == 0


def test_two_builds_are_byte_identical() -> None:
    assert generate.build_all() == generate.build_all()


def test_generated_tree_is_current() -> None:
    """The committed generated/ is the golden: regenerate and compare (fix: make generate)."""
    problems = generate.check(generate.build_all())
    assert problems == [], "\n".join(problems) + "\nrun `make generate`"
