"""The BR 3.2.2.9 numbers and verdict rules the runtime enforces on every request.

The runtime images ship only ``config/catalog.py`` of the config package, so this table exists
twice: here and in ``config/compliance.py`` (``MIN_REMOTE_PHASES``, ``allowed_non_corroborations``,
``required_quorum``). ``tests/service/test_settings.py`` pins the two copies together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

#: BR 3.2.2.9: "the CA MUST ... corroborate ... from at least N remote Network Perspectives",
#: phased in: 2 from 2025-03-15, 3 from 2026-03-15, 4 from 2026-06-15, 5 from 2026-12-15.
MIN_REMOTE_PHASES: tuple[tuple[dt.date, int], ...] = (
    (dt.date(2025, 3, 15), 2),
    (dt.date(2026, 3, 15), 3),
    (dt.date(2026, 6, 15), 4),
    (dt.date(2026, 12, 15), 5),
)
#: open-mpic-core never builds a cohort smaller than this (MpicRequestValidator)
CORE_MIN_PERSPECTIVES = 2


def min_remote_perspectives(on: dt.date) -> int:
    """BR 3.2.2.9: the minimum number of remote perspectives in force on ``on`` (0 before 2025-03-15)."""
    required = 0
    for start, count in MIN_REMOTE_PHASES:
        if on >= start:
            required = count
    return required


def allowed_non_corroborations(cohort: int) -> int:
    """BR 3.2.2.9 quorum table: 2-5 remote perspectives -> 1 may fail; 6 or more -> 2."""
    if cohort < 2:
        return 0
    return 1 if cohort <= 5 else 2


def required_quorum(cohort: int) -> int:
    """Corroborating perspectives BR 3.2.2.9 requires of a cohort of ``cohort`` remote perspectives."""
    return cohort - allowed_non_corroborations(cohort)


def min_perspective_count(on: dt.date) -> int:
    """The smallest cohort the coordinator may use on ``on``: the BR minimum, and never below the
    core's own minimum of 2."""
    return max(CORE_MIN_PERSPECTIVES, min_remote_perspectives(on))


def next_phase(on: dt.date) -> tuple[dt.date, int] | None:
    """The next (date, minimum) of the phase-in after ``on``, or None when none is scheduled."""
    return next(((start, count) for start, count in MIN_REMOTE_PHASES if start > on), None)


def phase_text(on: dt.date) -> str:
    """'4 remote perspectives as of 2026-12-01 (5 from 2026-12-15)' - for error messages."""
    text = f"{min_perspective_count(on)} remote perspectives as of {on.isoformat()}"
    upcoming = next_phase(on)
    if upcoming is not None:
        text += f" ({upcoming[1]} from {upcoming[0].isoformat()})"
    return text


def quorum_met(cohort_size: int, quorum_count: int, passing_rirs: list[Any]) -> bool:
    """The core's verdict for one attempt, given the RIR of every passing perspective.

    BR 3.2.2.9: quorum of corroborating perspectives, and (cohorts of more than 2) the
    corroborating perspectives span at least two RIRs.
    """
    valid = len(passing_rirs) >= quorum_count
    if cohort_size > 2:
        valid = valid and len(set(passing_rirs)) >= 2
    return valid


def decide(cohort_size: int, quorum_count: int, passed_rirs: list[Any], pending_rirs: list[Any]) -> bool | None:
    """True/False once the attempt's verdict is fixed whatever the pending perspectives answer;
    None while it can still go either way."""
    if quorum_met(cohort_size, quorum_count, passed_rirs):
        return True
    if not quorum_met(cohort_size, quorum_count, passed_rirs + pending_rirs):
        return False
    return None


def today_utc() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()
