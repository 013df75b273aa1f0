"""BR 3.2.2.9's numbers: the tables every rule, planner and the runtime's floor read.

CA/B Forum TLS Baseline Requirements §3.2.2.9 (Multi-Perspective Issuance Corroboration):
remote perspectives >= 500 km from each other and from the primary, a phased-in minimum number
of remote perspectives, a quorum table of allowed non-corroborations and, from 2026-03-15,
corroborating perspectives in >= 2 RIRs. The runtime image cannot import this module (it ships
only ``config/catalog.py``), so ``service/`` keeps a copy that a test pins to this one.
"""

from __future__ import annotations

import datetime as dt

MIN_DISTANCE_KM = 500.0
"""Every pair of perspectives (primary included) is at least this far apart (straight line)."""

MIN_REMOTE_PHASES: tuple[tuple[dt.date, int], ...] = (
    (dt.date(2025, 3, 15), 2),
    (dt.date(2026, 3, 15), 3),
    (dt.date(2026, 6, 15), 4),
    (dt.date(2026, 12, 15), 5),
)
"""Phase-in of the minimum number of remote perspectives used per attempt (R3)."""
QUORUM_EFFECTIVE = dt.date(2025, 9, 15)
"""R4: the quorum table is advisory only before this date."""
RIR_EFFECTIVE = dt.date(2026, 3, 15)
"""R5: corroborating perspectives must span >= 2 RIRs from this date."""
RANDOM_VALUE_MIN_CHARS = 19
"""BR 1.6.1: a Random Value carries at least 112 bits of entropy, at least 19 base64url characters
(6 bits each): the floor of ``mpic:minChallengeLength`` (the runtime's copy: service/challenge.py)."""


def min_remote_perspectives(on: dt.date) -> int:
    """BR 3.2.2.9: the minimum number of remote perspectives in force on ``on`` (0 before 2025-03-15)."""
    required = 0
    for start, count in MIN_REMOTE_PHASES:
        if on >= start:
            required = count
    return required


LOOKAHEAD_DAYS = 30
"""How far ahead a new or repaired region set must stay compliant: the nightly workflow's look-ahead
(``.github/workflows/mpic-nightly.yml``, docs/ci.md)."""


def sizing_date(on: dt.date) -> dt.date:
    """The date whose rules a region set chosen on ``on`` must meet: the later of ``on`` +
    :data:`LOOKAHEAD_DAYS` and the next phase-in of :data:`MIN_REMOTE_PHASES` after ``on``. BR
    3.2.2.9's requirements only grow, so a set that meets them then meets them every day until then:
    a set adopted on 2026-12-07 is sized for 2026-12-15 (5 remote perspectives), not for the 4 of
    that day."""
    ahead = on + dt.timedelta(days=LOOKAHEAD_DAYS)
    upcoming = [start for start, _ in MIN_REMOTE_PHASES if start > on]
    return max([ahead, *upcoming[:1]])


def allowed_non_corroborations(cohort: int) -> int:
    """BR 3.2.2.9 quorum table: 2-5 remote perspectives -> 1 may fail; 6 or more -> 2."""
    if cohort < 2:
        return 0
    return 1 if cohort <= 5 else 2


def required_quorum(cohort: int) -> int:
    """Passing perspectives a cohort of ``cohort`` remote perspectives needs (N-1 to 5, N-2 from 6)."""
    return cohort - allowed_non_corroborations(cohort)
