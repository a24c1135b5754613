"""The coverage line: the newest releases measured and the newer ones not measured yet (recorded index answer)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.report.markup import coverage_line
from runner.run.coverage import coverage, measured
from runner.run.index import PackageIndexError

FIXTURES = Path(__file__).parent / "fixtures" / "index"
ASKED = "2026-12-02T04:39:00Z"


def _fetch(package: str) -> dict:
    return json.loads((FIXTURES / f"{package}.json").read_text())


def _rows(tf: str = "2.21.0", keras: str = "3.15.1", tfk: str = "2.21.0") -> list[dict]:
    return [
        {"lock": {"packages": {"tensorflow": tf, "keras": keras}}},
        {"lock": {"packages": {"tensorflow": tf, "tf-keras": tfk, "keras": keras}}},
        {"lock": {"packages": {"tensorflow-cpu": "2.15.1", "keras": "2.15.0"}}},
        {"lock": None},  # a row that was not built
    ]


def test_the_newest_measured_come_from_the_locks() -> None:
    assert measured(_rows()) == {"tensorflow": "2.21.0", "keras": "3.15.1", "tf-keras": "2.21.0"}


def test_an_up_to_date_grid_says_nothing_newer_and_names_the_release_dates() -> None:
    cov = coverage(_rows(), ASKED, fetch=_fetch, url="https://pypi.org/simple")
    assert cov["error"] is None
    by = {p["package"]: p for p in cov["packages"]}
    assert by["tensorflow"]["released"].startswith("2026-03-06") and by["tensorflow"]["newer"] == []
    line = coverage_line(cov)
    assert line.startswith("Newest releases measured: TF 2.21.0 (released 2026-03-06), Keras 3.15.1")
    assert "No newer release" in line


def test_an_older_grid_lists_what_it_has_not_measured() -> None:
    cov = coverage(_rows(tf="2.20.0", keras="3.13.2"), ASKED, fetch=_fetch, url="https://pypi.org/simple")
    by = {p["package"]: [n["version"] for n in p["newer"]] for p in cov["packages"]}
    assert by["tensorflow"] == ["2.21.0"]  # 2.22.0rc0 is a pre-release: no row until its final release
    assert "3.15.1" in by["keras"] and "3.13.2" not in by["keras"]
    assert "Not yet measured: TF 2.21.0" in coverage_line(cov)


def test_an_unreachable_index_is_one_line_and_the_run_goes_on() -> None:
    def down(package: str) -> dict:
        raise PackageIndexError("index unreachable: https://pypi.org/pypi/tensorflow/json: Connection refused")

    cov = coverage(_rows(), ASKED, fetch=down, url="https://pypi.org/simple")
    assert cov["error"].startswith("index unreachable") and all(p["released"] is None for p in cov["packages"])
    assert "Newer releases unknown" in coverage_line(cov)
