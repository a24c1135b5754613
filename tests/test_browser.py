"""index.html in real headless Chromium (Debian's ``chromium``, driven by Playwright).

The pages are rendered from the recorded fixtures into temporary directories and
opened from ``file://``, as a reader of a downloaded report would. Screenshots go
to ``tests/output/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.core.results import read_json
from runner.report.history import append_history
from runner.report.publish import publish_beside
from tests.pages import embedded

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FIXTURES = Path(__file__).parent / "fixtures"
SCREENSHOTS = Path(__file__).parent / "output" / "screenshots"
XSS = "<script>alert(1)</script>"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = read_json(FIXTURES / name)
    return data


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install playwright (no `playwright install`)", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """index.html of the real fixture (with a previous run and a history) and of the small one."""
    out: dict[str, Path] = {}
    real = _load("results_real.json")
    real_dir = tmp_path_factory.mktemp("real")
    # The run before: one cell that works now was broken then, one that fails now worked.
    previous = copy.deepcopy(real)
    previous["run"]["finished"] = "2026-11-20T05:26:48Z"
    same = [c for c in previous["cells"] if c["save_row"] == c["load_row"]]
    fixed = next(c for c in same if c["status"] == "pass")
    broken = next(c for c in same if c["status"] == "load_error")
    fixed.update(
        status="load_error",
        error={"type": "ValueError", "message": "was broken", "traceback": None},
        fix="load with custom_objects",
    )
    broken.update(status="pass", error=None, fix=None, option="default")
    (real_dir / "previous-results.json").write_text(json.dumps(previous), encoding="utf-8")
    append_history(previous, real_dir / "history.jsonl")
    append_history(real, real_dir / "history.jsonl")
    publish_beside(real, real_dir)
    out["real"] = real_dir / "index.html"
    small_dir = tmp_path_factory.mktemp("small")
    publish_beside(_load("results_small.json"), small_dir)
    out["small"] = small_dir / "index.html"
    return out


class Console:
    """Console errors, uncaught exceptions and alert() calls of one page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)


@pytest.fixture
def open_page(browser: Any, pages: dict[str, Path]) -> Iterator[Any]:
    opened = []

    def _open(which: str, hash_: str = "", viewport: tuple[int, int] = (1400, 900)) -> tuple[Any, Console]:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        page = context.new_page()
        console = Console(page)
        page.goto(pages[which].as_uri() + hash_)
        page.wait_for_selector("#matrix tbody tr")
        opened.append(context)
        return page, console

    yield _open
    for context in opened:
        context.close()


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def matrix_rows(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#matrix tbody th.rowhead").all_inner_texts()]


@pytest.mark.parametrize("which", ["real", "small"])
def test_page_loads_without_console_errors(open_page: Any, which: str) -> None:
    page, console = open_page(which)
    assert page.title().startswith("Keras save/load compatibility")
    assert page.locator("#matrix button.cell").count() > 0
    assert console.errors == []
    shot(page, f"{which}-top")
    shot(page, f"{which}-full", full_page=True)


def test_filters_change_what_is_shown(open_page: Any) -> None:
    page, console = open_page("real")
    everything = matrix_rows(page)
    page.select_option("#filters select[name=format]", "h5")
    rows = matrix_rows(page)
    assert rows and len(rows) < len(everything)
    assert all(r.endswith("h5") for r in rows)
    assert "format=h5" in page.evaluate("location.hash")
    page.select_option("#filters select[name=status]", "load_error")
    assert page.locator("#matrix td.st-load_error:not(.dim)").count() > 0
    shown = page.locator("#matrix td:not(.dim) button.cell").count()
    assert shown == page.locator("#matrix td.st-load_error:not(.dim)").count()
    # columns: one TF version
    page.select_option("#filters select[name=tf]", "2.15.1")
    assert page.locator("#matrix thead tr.envs th").count() == 1
    page.click("#filters button[type=reset]")
    assert len(matrix_rows(page)) == len(everything)
    page.fill("#filters input[name=q]", "ScaleLayer")
    page.wait_for_function("location.hash.includes('q=ScaleLayer')")
    assert matrix_rows(page) and all(r.startswith("subclass") for r in matrix_rows(page))
    shot(page, "real-filtered")
    assert console.errors == []


def test_a_permalink_restores_the_view(open_page: Any) -> None:
    page, console = open_page("real", "#format=keras&status=load_error&flavour=keras3")
    assert page.input_value("#filters select[name=format]") == "keras"
    assert page.input_value("#filters select[name=status]") == "load_error"
    assert page.input_value("#filters select[name=flavour]") == "keras3"
    assert all(r.endswith("keras") for r in matrix_rows(page))
    assert page.locator("#matrix thead tr.envs th").count() == 1
    # a single cell's permalink opens its detail
    cell = "lambda_simple/h5/tf2.21-k3.13-py3.11/tf2.21-k3.13-py3.11"
    page2, _ = open_page("real", f"#cell={cell}")
    assert page2.locator("#detail").is_visible()
    assert "lambda_simple" in page2.inner_text("#detail-title")
    assert console.errors == []


def test_a_cells_detail_shows_its_error_fix_locks_and_command(open_page: Any) -> None:
    page, console = open_page("real", "#scenario=lambda_simple&format=h5")
    page.click("#matrix td.st-load_error button.cell")
    dialog = page.locator("#detail")
    assert dialog.is_visible()
    text = dialog.inner_text()
    assert "Exception" in text and "ValueError" in text and "Lambda" in text
    assert "python -m runner run --rows tf2.21-k3.13-py3.11 --scenarios lambda_simple --formats h5" in text
    assert "Fix" in text and "Environment locks" in text and "tensorflow" in text
    assert "cell=lambda_simple" in page.evaluate("decodeURIComponent(location.hash)")
    shot(page, "real-detail")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert "cell=" not in page.evaluate("location.hash")
    assert console.errors == []


def test_a_cross_env_cell_lists_exactly_the_calls_it_made(open_page: Any) -> None:
    key = ("lambda_simple", "h5", "tf2.15-k2-py3.11", "tf2.21-tfk2.21-py3.11")
    page, console = open_page("real", "#cell=" + "/".join(key))
    real = _load("results_real.json")
    made = [r["option"] for r in real["records"] if (r["scenario"], r["format"], r["save_row"], r["load_row"]) == key]
    assert made  # the fixture holds the cell
    shown = [t.strip() for t in page.locator("#detail table.calls tbody tr td:first-child").all_inner_texts()]
    assert shown == made  # the calls that ran, in order: none invented for the calls a lazy cell did not make
    command = page.locator("#detail .repro code").inner_text().split()
    assert command[command.index("--rows") + 1] == f"{key[2]},{key[3]}" and "--pairs" in command
    assert console.errors == []


def test_a_script_tag_in_a_message_is_shown_as_text(open_page: Any) -> None:
    page, console = open_page("small", "#q=alert")
    assert page.locator("#matrix td:not(.dim) button.cell").count() >= 1
    page.locator("#matrix td:not(.dim) button.cell").first.click()
    assert XSS in page.locator("#detail").inner_text()
    assert page.locator("#detail script").count() == 0
    assert page.evaluate("document.scripts.length") == 2
    failures = page.locator("#failures").inner_text()
    assert XSS in failures
    assert console.dialogs == [] and console.errors == []
    shot(page, "small-script-escaped")


def test_keyboard_moves_between_cells_and_opens_one(open_page: Any) -> None:
    page, console = open_page("real")
    first = page.locator('#matrix button.cell[tabindex="0"]')
    first.focus()
    start = page.evaluate("document.activeElement.dataset.c")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.c") != start
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.locator("#detail").is_visible()
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.classList.contains('cell')")
    assert console.errors == []


def test_upgrade_answer_offers_measured_targets_and_counts_follow_it(open_page: Any) -> None:
    page, console = open_page("real", "#from=tf2.15-k2-py3.11&to=tf2.21-k3.13-py3.11")
    data = embedded(page.content())
    save, load = (
        next(i for i, r in enumerate(data["rows"]) if r["id"] == rid)
        for rid in ("tf2.15-k2-py3.11", "tf2.21-k3.13-py3.11")
    )
    cross = [c for c in data["cells"] if c[2] == save and c[3] == load]
    assert page.locator("#upgrade-table tbody tr.ans").count() == len(cross)
    counts = page.locator("#upgrade-counts button[data-answer]")
    assert sum(int(t.split()[-1]) for t in counts.all_inner_texts()) == len(cross)
    offered = page.locator("#upgrade-form select[name=to] option").evaluate_all("os => os.map(o => o.value)")
    measured = {data["rows"][c[3]]["id"] for c in data["cells"] if c[2] == save and c[3] != save}
    assert set(offered) == measured
    # one answer kind at a time
    counts.first.click()
    kind = counts.first.get_attribute("data-answer")
    assert (
        page.locator("#upgrade-table tbody tr.ans").count() == page.locator(f"#upgrade-table tr.ans-row-{kind}").count()
    )
    page.locator("#upgrade-shortcuts button", has_text="newest tf_keras").click()
    assert page.input_value("#upgrade-form select[name=to]") == "tf2.21-tfk2.21-py3.11"
    assert "to=tf2.21-tfk2.21-py3.11" in page.evaluate("location.hash")
    assert console.errors == []


def test_an_unmeasured_target_suggests_the_nearest_measured(open_page: Any) -> None:
    page, console = open_page("real", "#from=tf2.21-k3.13-py3.11&to=tf2.15-k2-py3.9-not-a-row")
    assert page.input_value("#upgrade-form select[name=to]") != ""
    page2, _ = open_page("real", "#from=tf2.21-tfk2.21-py3.11&to=tf2.21-tfk2.21-py3.11")
    # loading where it was saved is not an upgrade: the nearest measured target is shown, and said so
    assert page2.locator("#upgrade-note").is_visible()
    assert page2.input_value("#upgrade-form select[name=to]") != "tf2.21-tfk2.21-py3.11"
    assert console.errors == []


def test_changes_claims_and_trend_are_shown(open_page: Any) -> None:
    from playwright.sync_api import expect

    page, console = open_page("real")
    changes = page.inner_text("#changes")
    assert "Newly broken" in changes and "Newly fixed" in changes
    page.click("#changes-newly_fixed > summary")
    page.click('#changes button[data-change="newly_fixed"]')
    assert page.input_value("#filters select[name=change]") == "newly_fixed"
    assert page.locator("#matrix td:not(.dim) button.cell").count() == 1
    claims = page.inner_text("#claims")
    assert "Unknown layer" in claims and "does not hold" in claims and "holds" in claims
    page.click("#claim-lambda-simple-loads details.claim-cells > summary")
    listed = page.locator("#claim-lambda-simple-loads ul.cells li")
    # The list is drawn by the <details> "toggle" event, which fires after the click
    # returns (a queued task): wait for it rather than count at once.
    expect(listed).to_have_count(3)
    assert "holds" in listed.first.inner_text()
    listed.last.locator("button").click()
    assert page.locator("#detail").is_visible() and "lambda_simple" in page.inner_text("#detail-title")
    detail = page.inner_text("#detail")
    assert "Claims this cell tests" in detail and "will typically load without issues" in detail
    assert "Permalink to this cell" in detail
    page.keyboard.press("Escape")
    assert page.locator("#trend tbody tr").count() == 2
    page.locator("#environments button[data-env]").first.click()
    assert "Trend (cells loaded here, per run)" in page.inner_text("#detail")
    page.keyboard.press("Escape")
    assert page.locator("#trend svg.spark").count() == 1
    page.locator("#claims").scroll_into_view_if_needed()
    shot(page, "real-claims")
    assert console.errors == []


def test_readable_on_a_phone(open_page: Any) -> None:
    page, console = open_page("real", viewport=(390, 844))
    # the page itself does not scroll sideways: wide tables scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    shot(page, "real-phone")
    assert console.errors == []
