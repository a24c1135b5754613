"""How old a results.json's data is, and whether that is too old (``keras-compat stale``).

The nightly publishes every night; data older than ``MAX_AGE_DAYS`` means it has
stopped. The one limit: the ``stale`` command's default, the scheduled stale check
(.github/workflows/stale.yml) and the page's age line (page data ``max_age_days``,
templates/page/age.js) all read it from here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from runner.core.errors import ResultsError

MAX_AGE_DAYS = 3


def finished(results: dict) -> datetime:
    """When the run ended (``run.finished``), as an aware UTC datetime."""
    run = results.get("run")
    value = run.get("finished") if isinstance(run, dict) else None
    if not isinstance(value, str):
        raise ResultsError("results.json: $.run.finished is missing; re-run, or pass a results.json that has it")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ResultsError(f"results.json: $.run.finished {value!r} is not an ISO 8601 time; re-run") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def age_days(results: dict, now: datetime | None = None) -> float:
    """Days from the run's end to ``now`` (negative if the clocks disagree)."""
    return ((now or datetime.now(UTC)) - finished(results)).total_seconds() / 86400


def staleness(results: dict, max_age_days: float = MAX_AGE_DAYS, now: datetime | None = None) -> str | None:
    """One line saying the data is stale and what to do, or None while it is fresh enough."""
    age = age_days(results, now)
    if age <= max_age_days:
        return None
    return (
        f"stale: the data is from {results['run']['finished']}, {age:.1f} days old (limit {max_age_days:g}); "
        "check the nightly workflow's last runs"
    )
