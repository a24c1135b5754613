"""The data's age: ``keras-compat stale`` (exit 1 past the limit), the page data's limit,
and the page's #data-age line in headless Chromium."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pages import embedded

from runner.cli import main
from runner.core.errors import ResultsError
from runner.core.results import read_json
from runner.report.age import MAX_AGE_DAYS, age_days, finished, staleness
from runner.report.publish import publish_beside

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def _stamp(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _results(finished_at: datetime) -> dict[str, Any]:
    results: dict[str, Any] = read_json(FIXTURES / "results_small.json")
    results["run"]["finished"] = _stamp(finished_at)
    return results


def _write(tmp_path: Path, finished_at: datetime) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_results(finished_at)), encoding="utf-8")
    return path


def test_age_and_the_limit() -> None:
    assert age_days(_results(NOW - timedelta(days=2)), NOW) == pytest.approx(2)
    assert staleness(_results(NOW - timedelta(days=MAX_AGE_DAYS)), now=NOW) is None  # at the limit: still fresh
    assert staleness(_results(NOW - timedelta(days=MAX_AGE_DAYS, minutes=1)), now=NOW) is not None
    assert staleness(_results(NOW - timedelta(days=2)), 1, now=NOW) is not None
    assert staleness(_results(NOW + timedelta(hours=1)), now=NOW) is None  # a clock ahead is not stale
    assert finished({"run": {"finished": "2026-11-21T05:40:00+00:00"}}) == datetime(2026, 11, 21, 5, 40, tzinfo=UTC)


@pytest.mark.parametrize("run", [None, {}, {"finished": 3}, {"finished": "yesterday"}])
def test_a_missing_or_bad_finished_time_is_a_results_error(run: Any) -> None:
    with pytest.raises(ResultsError):
        finished({"run": run})


def test_stale_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    fresh = _write(tmp_path, now - timedelta(days=MAX_AGE_DAYS - 1))
    assert main(["stale", str(fresh)]) == 0
    old = _write(tmp_path, now - timedelta(days=MAX_AGE_DAYS + 1))
    capsys.readouterr()
    assert main(["stale", str(old)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(old) in err
    assert main(["stale", str(old), "--max-age-days", str(MAX_AGE_DAYS + 2)]) == 0
    assert main(["stale", str(tmp_path / "missing.json")]) == ResultsError.exit_code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_page_data_carries_the_one_limit(tmp_path: Path) -> None:
    publish_beside(_results(NOW), tmp_path)
    data = embedded((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert data["max_age_days"] == MAX_AGE_DAYS
    assert data["run"]["finished"] == _stamp(NOW)


@pytest.mark.browser
@pytest.mark.parametrize("days_old,stale", [(0.1, False), (MAX_AGE_DAYS + 2, True)])
def test_page_shows_the_age_and_says_when_stale(tmp_path: Path, days_old: float, stale: bool) -> None:
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    publish_beside(_results(datetime.now(UTC) - timedelta(days=days_old)), tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((tmp_path / "index.html").as_uri())
            page.wait_for_selector("#data-age[data-stale]")
            line = page.locator("#data-age")
            assert line.get_attribute("data-stale") == str(stale).lower()
            assert line.get_attribute("role") == "status"
            assert line.locator("strong").count() == int(stale)
            assert line.inner_text().strip()
            assert errors == []
        finally:
            browser.close()
