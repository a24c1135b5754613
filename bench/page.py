"""Benchmark: how heavy the published page is and how fast it opens, in real Chromium.

    python bench/page.py                                  # reports/index.html
    python bench/page.py --page /tmp/out/index.html --runs 5 --shot /tmp/page.png

Opens the page from ``file://`` in headless Chromium (Debian's ``/usr/bin/chromium``,
driven by Playwright, as the browser tests do) ``--runs`` times, each in a fresh
context, and prints the file size, the time to ``DOMContentLoaded``, the time until
the matrix is drawn (first ``#matrix tbody tr``), the time a filter change takes to
redraw, the number of DOM nodes, and console errors. The median of the runs is
printed; the first run's screenshot is saved for a person to look at.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


def measure(page_path: Path, runs: int, shot: Path | None) -> dict[str, float | int | list[str]]:
    from playwright.sync_api import sync_playwright

    dom_ms, drawn_ms, filter_ms, nodes, errors = [], [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        for i in range(runs):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            start = time.perf_counter()
            page.goto(page_path.resolve().as_uri(), wait_until="domcontentloaded")
            dom_ms.append((time.perf_counter() - start) * 1000)
            page.wait_for_selector("#matrix tbody tr", timeout=120_000)
            drawn_ms.append((time.perf_counter() - start) * 1000)
            nodes.append(page.evaluate("document.getElementsByTagName('*').length"))
            start = time.perf_counter()
            page.select_option("#filters select[name=status]", "load_error")
            page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
            filter_ms.append((time.perf_counter() - start) * 1000)
            if i == 0 and shot is not None:
                page.select_option("#filters select[name=status]", "")
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=False)
            context.close()
        browser.close()
    return {
        "dom_ms": statistics.median(dom_ms),
        "drawn_ms": statistics.median(drawn_ms),
        "filter_ms": statistics.median(filter_ms),
        "nodes": int(statistics.median(nodes)),
        "errors": errors,
    }


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
    print(f"page:            {args.page} ({size / 1e6:.1f} MB)")
    if results.exists():
        print(f"results.json:    {results.stat().st_size / 1e6:.1f} MB")
    print(f"DOMContentLoaded {m['dom_ms']:.0f} ms (median of {args.runs})")
    print(f"matrix drawn     {m['drawn_ms']:.0f} ms")
    print(f"filter redraw    {m['filter_ms']:.0f} ms (status = load_error)")
    print(f"DOM nodes        {m['nodes']}")
    print(f"console errors   {len(m['errors'])}" + (f": {m['errors'][0][:200]}" if m["errors"] else ""))
    print(f"screenshot       {args.shot}")
    return 1 if m["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
