"""The published page (rendered from the committed reports/results.json, a full real run) as a user
meets it, in headless Chromium: the upgrade question answered from the top, accessibility (axe-core
from npm, tests/browser/), the summary against the data, the overview and the skip link.

Expected answers are derived from results.json with the one rule (runner/core/cells.py), never typed
in: the page must say what the data says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.core.cells import upgrade_answer
from runner.core.results import read_json
from runner.core.status import OPTION_CALLS
from runner.core.vocab import ANSWER_TITLES
from runner.report.publish import publish_beside
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, Console, shot

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "reports" / "results.json"
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
# The task of issue 10: a Lambda model saved as .h5 on TF 2.12, loaded on TF 2.21 with Keras 3.
SAVE, LOAD, SCENARIO, FORMAT = "tf2.12-k2-py3.11", "tf2.21-k3.15-py3.11", "lambda_simple", "h5"
WIDTHS = {"wide": (1440, 900), "phone": (390, 844)}
EMOJI = re.compile("[\U0001f000-\U0001faff\ufe0f]")


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    data: dict[str, Any] = read_json(RESULTS)
    return data


@pytest.fixture(scope="module")
def page_file(results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("published")
    publish_beside(results, out)
    return out / "index.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def open_page(browser: Any, page_file: Path) -> Iterator[Any]:
    contexts = []

    def _open(width: str = "wide", hash_: str = "") -> tuple[Any, Console]:
        w, h = WIDTHS[width]
        context = browser.new_context(viewport={"width": w, "height": h})
        contexts.append(context)
        page = context.new_page()
        console = Console(page)
        page.goto(page_file.as_uri() + hash_)
        page.wait_for_selector("#upgrade-table tbody tr")
        return page, console

    yield _open
    for context in contexts:
        context.close()


def cell(results: dict[str, Any], save: str, load: str) -> dict[str, Any]:
    return next(
        c
        for c in results["cells"]
        if (c["scenario"], c["format"], c["save_row"], c["load_row"]) == (SCENARIO, FORMAT, save, load)
    )


def expected_answer(results: dict[str, Any], load: str) -> tuple[str, str]:
    """(answer id, the words the page must show) for the task's pattern loaded in ``load``."""
    before, after = cell(results, SAVE, SAVE), cell(results, SAVE, load)
    answer = upgrade_answer(before["status"], after["status"], before["option"], after["option"])
    words = ANSWER_TITLES[answer] + (f": {OPTION_CALLS[after['option']]}" if answer == "change_call" else "")
    return answer, words


@pytest.mark.parametrize("width", WIDTHS)
def test_the_upgrade_task_takes_at_most_two_interactions_from_the_top(
    open_page: Any, results: dict[str, Any], width: str
) -> None:
    page, console = open_page(width)
    assert page.evaluate("window.scrollY") == 0
    interactions = 0
    page.select_option("#upgrade-form select[name=from]", SAVE)
    interactions += 1
    if page.input_value("#upgrade-form select[name=to]") != LOAD:
        page.select_option("#upgrade-form select[name=to]", LOAD)
        interactions += 1
    assert interactions <= 2
    row = page.locator("#upgrade-table tr.ans", has=page.locator(f"th code:text-is('{SCENARIO}')")).filter(
        has=page.locator(f".fmt:text-is('{FORMAT}')")
    )
    answer, words = expected_answer(results, LOAD)
    verdict = row.locator(".answer-cell").inner_text()
    assert " ".join(verdict.split()) == words
    # the answer is visible without scrolling past anything else
    assert row.locator(".answer-cell").is_visible()
    if answer != "works":
        measured = {c["load_row"] for c in results["cells"] if c["save_row"] == SAVE and c["load_row"] != SAVE}
        plain = {t for t in measured - {LOAD} if expected_answer(results, t)[0] == "works"}
        listed = row.locator("td").last.locator("button[data-upgrade]").all_inner_texts()
        assert listed and set(listed) <= plain
    row.scroll_into_view_if_needed()
    shot(page, f"task-answer-{width}")
    assert console.errors == []


def test_a_from_to_link_lands_on_the_answer(open_page: Any) -> None:
    page, console = open_page("wide", f"#from={SAVE}&to={LOAD}")
    assert page.input_value("#upgrade-form select[name=from]") == SAVE
    assert page.input_value("#upgrade-form select[name=to]") == LOAD
    # lands there (polled: the browser may still be laying out or scrolling)
    page.wait_for_function("Math.abs(document.getElementById('answer').getBoundingClientRect().top) < 40", timeout=5000)
    assert console.errors == []


def _axe(page: Any, context: str = "document") -> list[tuple[str, str, int]]:
    page.add_script_tag(path=str(AXE))
    found: list[tuple[str, str, int]] = page.evaluate(
        f"async () => (await axe.run({context}, {{resultTypes: ['violations']}})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => [v.id, v.impact, v.nodes.length])"
    )
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_serious_or_critical_violation_on_the_page_and_in_the_dialog(open_page: Any, width: str) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm ci --prefix tests/browser", pytrace=False)
    page, console = open_page(width)
    assert _axe(page) == []
    page.locator("#upgrade-table .answer-cell").first.click()
    assert page.locator("#detail").is_visible()
    assert _axe(page, "document.getElementById('detail')") == []
    assert console.errors == []


def test_summary_counts_agree_with_results_and_follow_the_filters(open_page: Any, results: dict[str, Any]) -> None:
    page, console = open_page("wide")
    same = [c for c in results["cells"] if c["save_row"] == c["load_row"]]

    def shown_counts() -> dict[str, int]:
        out = {}
        for b in page.locator("#summary button.count").all():
            out[b.get_attribute("data-status")] = int(b.inner_text().split()[-1])
        return out

    expected: dict[str, int] = {}
    for c in same:
        expected[c["status"]] = expected.get(c["status"], 0) + 1
    assert shown_counts() == expected
    rate = round(100 * expected.get("pass", 0) / len(same))
    assert f"{rate}% of them pass" in page.inner_text("#summary")
    page.select_option("#filters select[name=format]", "h5")
    h5: dict[str, int] = {}
    for c in same:
        if c["format"] == "h5":
            h5[c["status"]] = h5.get(c["status"], 0) + 1
    assert shown_counts() == h5
    assert console.errors == []


def test_the_overview_has_one_square_per_saving_env_and_the_keras_3_edge(
    open_page: Any, results: dict[str, Any]
) -> None:
    page, console = open_page("wide")
    same = [c for c in results["cells"] if c["save_row"] == c["load_row"]]
    assert page.locator("#overview-table button.sq").count() == len(same)
    assert page.locator("#overview-table tr.bands th.k3-edge").count() == 1
    # wrong output has a colour of its own
    colours = page.evaluate(
        "() => ['wrong_output', 'load_error'].map(s => {"
        " const b = document.querySelector('#overview-table .sq.st-' + s);"
        " return b && getComputedStyle(b).backgroundColor; })"
    )
    assert None not in colours and colours[0] != colours[1]
    first = page.locator('#overview-table button.sq[tabindex="0"]')
    assert first.count() == 1
    first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.c") == "1"
    page.keyboard.press("Enter")
    assert page.locator("#detail").is_visible()
    page.locator("#overview").scroll_into_view_if_needed()
    assert console.errors == []


def test_the_skip_link_is_the_first_tab_stop_and_the_text_has_no_emoji(open_page: Any) -> None:
    page, console = open_page("wide")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#answer"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "answer"
    assert EMOJI.findall(page.inner_text("body")) == []
    assert console.errors == []


def _answer_row(page: Any, scenario: str, fmt: str, table: str = "#upgrade-table") -> Any:
    return page.locator(f"{table} tr.ans", has=page.locator(f"th code:text-is('{scenario}')")).filter(
        has=page.locator(f".fmt:text-is('{fmt}')")
    )


def test_a_keras2_savedmodel_in_keras3_is_a_changed_call_to_tfsm_layer(open_page: Any, results: dict[str, Any]) -> None:
    """load_model raises on a SavedModel in Keras 3; TFSMLayer reads it, for inference only: a changed call."""
    k2 = "tf2.15-k2-py3.11"
    page, console = open_page("wide", f"#from={k2}&to={LOAD}")
    cells = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): c for c in results["cells"]}
    checked = 0
    for sc in ("lambda_simple", "stateful_layer", "subclass_with_config"):
        before, after = cells[(sc, "savedmodel", k2, k2)], cells[(sc, "savedmodel", k2, LOAD)]
        answer = upgrade_answer(before["status"], after["status"], before["option"], after["option"])
        if (before["status"], after["status"]) != ("pass", "pass_inference_only"):
            continue
        assert (answer, after["option"]) == ("change_call", "tfsm_layer")
        text = " ".join(_answer_row(page, sc, "savedmodel").locator(".answer-cell").inner_text().split())
        assert text == f"{ANSWER_TITLES['change_call']}: {OPTION_CALLS['tfsm_layer']}"
        assert text.startswith("works if you change your load call: TFSMLayer (inference only)")
        checked += 1
    assert checked, "no Keras 2 SavedModel that passes in Keras 2 and only through TFSMLayer in Keras 3"
    assert console.errors == []


def test_a_stateful_layer_in_keras3_names_the_call_that_computes_something_else(
    open_page: Any, results: dict[str, Any]
) -> None:
    """The default load asks for custom_objects; that call loads and is wrong: the dialog says so, with its diff."""
    trap = next(
        c
        for c in results["cells"]
        if c["scenario"] == "stateful_layer"
        and c["save_row"] == c["load_row"] == LOAD
        and c["status"] == "wrong_output"
        and c["option"] == "custom_objects"
    )
    record = next(
        r
        for r in results["records"]
        if (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"])
        == (trap["scenario"], trap["format"], LOAD, LOAD, "custom_objects")
    )
    assert record["outcome"] == "wrong_output" and record["max_abs_diff"] > 0.1
    page, console = open_page("wide", f"#cell={trap['scenario']}/{trap['format']}/{LOAD}/{LOAD}")
    dialog = page.locator("#detail")
    dialog.wait_for(state="visible")
    text = " ".join(dialog.inner_text().split())
    assert "wrong output" in text and "computes something else" in text
    assert " ".join(record["call"].split()) in text  # the call, as code: load_model(..., custom_objects={...})
    assert record["error"]["message"] in text  # max |loaded - original| = ...
    assert console.errors == []


def test_the_upgrade_answer_says_what_changes_for_files_saved_after_tf_2_13(
    open_page: Any, results: dict[str, Any]
) -> None:
    """TF 2.12 -> 2.13: model.save("m.keras") writes the zip instead of HDF5; the answer lists it."""
    old, new = "tf2.12-k2-py3.11", "tf2.13-k2-py3.11"
    page, console = open_page("wide", f"#from={old}&to={new}")
    cells = {(c["scenario"], c["format"], c["save_row"], c["load_row"]): c for c in results["cells"]}
    wrote = {
        (c["written"], cells[(c["scenario"], "keras", new, new)]["written"])
        for k, c in cells.items()
        if k[1] == "keras" and k[2] == k[3] == old and (c["scenario"], "keras", new, new) in cells
    }
    assert ("hdf5", "zip") in wrote
    later = page.locator("#later-table")
    assert "now writes a Keras v3 .keras zip archive, not an HDF5 file" in " ".join(later.inner_text().split())
    assert console.errors == []
