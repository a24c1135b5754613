"""Where a run's slot time goes: busy, idle, or waiting on saves, per slot."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any


class Timeline:
    """Spans of each slot's time; a run of waits in one state is one span."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.t0 = time.monotonic()
        self.spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def span(self, slot: int, state: str, began: float, what: str) -> None:
        end = time.monotonic()
        with self._lock:
            last = next((s for s in reversed(self.spans[-2 * self.slots :]) if s["slot"] == slot), None)
            if last and last["state"] == state and state != "busy":
                last["end"] = round(end - self.t0, 3)
                return
            self.spans.append(
                {
                    "slot": slot,
                    "state": state,
                    "start": round(began - self.t0, 3),
                    "end": round(end - self.t0, 3),
                    "what": what,
                }
            )

    def summary(self, wall: float | None = None) -> dict[str, float]:
        """Seconds per state over every slot, and the share of slot time that was busy."""
        totals: Counter = Counter()
        for span in self.spans:
            totals[span["state"]] += span["end"] - span["start"]
        wall = wall or (time.monotonic() - self.t0)
        out: dict[str, float] = {state: round(seconds, 1) for state, seconds in totals.items()}
        out["slots"] = self.slots
        out["busy_share"] = round(totals["busy"] / (wall * self.slots), 3) if wall else 0.0
        return out

    def write(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                for span in self.spans:
                    handle.write(json.dumps(span) + "\n")
        except OSError:
            pass
