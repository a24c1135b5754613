"""Benchmark: how heavy the published page is and how fast it opens, in real Chromium.

    python bench/page.py                                  # reports/index.html
    python bench/page.py --page /tmp/out/index.html --runs 5 --shot /tmp/page.png

Opens the page from ``file://`` in headless Chromium (Debian's ``/usr/bin/chromium``,
driven by Playwright, as the browser tests do) ``--runs`` times, each in a fresh
context, and prints the file size, the time to ``DOMContentLoaded`` (navigation
timing), the time until the matrix is drawn (first ``#matrix tbody tr``), the longest
main-thread task until then (Long Tasks API), the time the first cell's detail dialog
takes to open (its records are decoded on first use), the JS heap after it (used,
and retained after a forced garbage collection), the time a filter change takes to
redraw, the number of DOM nodes, and console errors. The median of the runs is
printed; the first run's screenshot is saved for a person to look at.

At ``--pairs all`` size: ``python bench/scale.py reports/results.json /tmp/big/results.json``,
``python -m runner report --results /tmp/big/results.json --out /tmp/big``, then
``python bench/page.py --page /tmp/big/index.html``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
# Registered before the page's own script runs: every task longer than 50 ms, buffered.
LONG_TASKS = """
window.__kcLongest = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__kcLongest = Math.max(window.__kcLongest, e.duration);
}).observe({ type: "longtask", buffered: true });
"""
METRICS = ("dom_ms", "drawn_ms", "longest_ms", "dialog_ms", "heap_mb", "retained_mb", "filter_ms", "nodes")


def measure(page_path: Path, runs: int, shot: Path | None) -> dict[str, float | list[str]]:
    from playwright.sync_api import sync_playwright

    seen: dict[str, list[float]] = {k: [] for k in METRICS}
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        for i in range(runs):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script(LONG_TASKS)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            cdp = context.new_cdp_session(page)
            start = time.perf_counter()
            page.goto(page_path.resolve().as_uri(), wait_until="domcontentloaded")
            seen["dom_ms"].append(
                page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
            )
            page.wait_for_selector("#matrix tbody tr", timeout=120_000)
            seen["drawn_ms"].append((time.perf_counter() - start) * 1000)
            seen["nodes"].append(page.evaluate("document.getElementsByTagName('*').length"))
            # the first dialog: the first cell of the matrix (its records are decoded on first use)
            start = time.perf_counter()
            page.locator("#matrix button.cell").first.click()
            page.wait_for_selector("#detail[open]", timeout=120_000)
            seen["dialog_ms"].append((time.perf_counter() - start) * 1000)
            page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 100)))")
            seen["longest_ms"].append(page.evaluate("window.__kcLongest"))
            seen["heap_mb"].append(cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6)
            cdp.send("HeapProfiler.collectGarbage")
            seen["retained_mb"].append(cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6)
            page.keyboard.press("Escape")
            start = time.perf_counter()
            page.select_option("#filters select[name=status]", "load_error")
            page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
            seen["filter_ms"].append((time.perf_counter() - start) * 1000)
            if i == 0 and shot is not None:
                page.select_option("#filters select[name=status]", "")
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=False)
            context.close()
        browser.close()
    out: dict[str, float | list[str]] = {k: statistics.median(v) for k, v in seen.items()}
    out["errors"] = errors
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, default=REPO / "reports" / "index.html")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shot", type=Path, default=REPO / "tests" / "output" / "page-bench.png")
    args = parser.parse_args(argv)
    if not args.page.exists():
        parser.exit(2, f"error: {args.page}: no such page; run `tox -p` (or `python -m runner report`) first\n")
    if not CHROMIUM.exists():
        parser.exit(2, f"error: {CHROMIUM} is missing: apt-get install chromium\n")
    try:
        import playwright  # noqa: F401
    except ImportError:
        parser.exit(2, "error: playwright is not installed: pip install -r requirements-test.txt\n")
    size = args.page.stat().st_size
    results = args.page.with_name("results.json")
    m = measure(args.page, max(1, args.runs), args.shot)
    errors = m["errors"]
    assert isinstance(errors, list)
    print(f"page:            {args.page} ({size / 1e6:.1f} MB)")
    if results.exists():
        print(f"results.json:    {results.stat().st_size / 1e6:.1f} MB")
    print(f"DOMContentLoaded {m['dom_ms']:.0f} ms (median of {args.runs})")
    print(f"matrix drawn     {m['drawn_ms']:.0f} ms")
    print(f"longest task     {m['longest_ms']:.0f} ms (main thread, until the first dialog is open)")
    print(f"first dialog     {m['dialog_ms']:.0f} ms (the first cell's detail)")
    print(f"JS heap          {m['heap_mb']:.1f} MB after the first dialog ({m['retained_mb']:.1f} MB after a GC)")
    print(f"filter redraw    {m['filter_ms']:.0f} ms (status = load_error)")
    print(f"DOM nodes        {m['nodes']:.0f}")
    print(f"console errors   {len(errors)}" + (f": {errors[0][:200]}" if errors else ""))
    print(f"screenshot       {args.shot}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
