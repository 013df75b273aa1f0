"""The floor under every request's orchestration parameters (BR 3.2.2.9 and the operator's quorum).

A request may ask for more than the coordinator's defaults, never for less than BR 3.2.2.9
requires on the request date (:mod:`service.rules`) or than the operator configured:
- ``perspective_count`` >= the BR minimum of remote perspectives as of the date
  (``br_as_of`` pins the date for tests and labs; default today, UTC) and <= the pool;
- ``quorum_count`` <= the cohort size and >= the larger of the BR quorum for that size
  (N-1 for N <= 5, N-2 for N >= 6) and the operator's quorum: ``default_quorum_count`` of
  ``default_perspective_count`` allows ``default_perspective_count - default_quorum_count``
  failures, and no request may allow more;
- ``cohort_for_single_attempt`` (the caller picks which perspectives run) only when the operator
  enabled ``allow_cohort_selection`` (labs);
- ``max_attempts`` >= 1 (larger values are capped by the ``max_attempts`` setting).

Refusals are Open MPIC validation issues (400): ``request-below-br-minimum``,
``request-below-configured-quorum``, ``invalid-perspective-count``, ``invalid-quorum-count``,
``cohort-selection-disabled``, ``invalid-max-attempts``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service import rules

BELOW_BR = "request-below-br-minimum"
BELOW_OPERATOR = "request-below-configured-quorum"


@dataclass(frozen=True)
class RequestPolicy:
    pool_size: int
    default_perspective_count: int
    default_quorum_count: int | None = None
    allow_cohort_selection: bool = False
    br_as_of: dt.date | None = None

    def as_of(self) -> dt.date:
        return self.br_as_of or rules.today_utc()

    def min_count(self) -> int:
        return rules.min_perspective_count(self.as_of())

    def quorum_floor(self, count: int) -> int:
        """The smallest quorum a cohort of ``count`` may use (BR, then the operator's tolerance)."""
        floor = rules.required_quorum(count)
        if self.default_quorum_count is not None:
            tolerance = self.default_perspective_count - self.default_quorum_count
            floor = max(floor, count - tolerance)
        return floor

    def configuration_problem(self) -> str | None:
        """Why the coordinator's own default breaks BR 3.2.2.9 on the request date (a date passed
        while the process ran), or None."""
        on = self.as_of()
        if self.default_perspective_count < rules.min_perspective_count(on):
            return (f"default_perspective_count: {self.default_perspective_count} but BR 3.2.2.9 requires "
                    f"{rules.phase_text(on)}; raise default_perspective_count (and the pool) and restart")
        return None

    def issues(self, params: Any) -> list[dict[str, str]]:
        """Validation issues of a request's orchestration_parameters (empty: acceptable)."""
        if params is None:
            return []
        out: list[dict[str, str]] = []
        on = self.as_of()
        minimum = self.min_count()
        count = self.default_perspective_count
        where = "orchestration_parameters."
        if params.perspective_count is not None:
            count = params.perspective_count
            if count < minimum:
                out.append(_issue(BELOW_BR, f"{where}perspective_count: {count} is below the minimum: BR 3.2.2.9 "
                                            f"requires {rules.phase_text(on)}. Ask for {minimum}..{self.pool_size} "
                                            f"or omit it (the coordinator uses {self.default_perspective_count})"))
            elif count > self.pool_size:
                out.append(_issue("invalid-perspective-count",
                                  f"{where}perspective_count: {count} but the coordinator has {self.pool_size} "
                                  f"perspectives; ask for {minimum}..{self.pool_size} or omit it"))
        if params.quorum_count is not None and not out:  # a bad count already explains the request
            out += self._quorum_issues(params.quorum_count, count, params.perspective_count is not None)
        if params.cohort_for_single_attempt is not None and not self.allow_cohort_selection:
            out.append(_issue("cohort-selection-disabled",
                              f"{where}cohort_for_single_attempt: {params.cohort_for_single_attempt}: the caller may "
                              "not choose which perspectives corroborate (the cohort is drawn from a secret; BR "
                              "3.2.2.9). Omit it; only a lab coordinator enables allow_cohort_selection"))
        if params.max_attempts is not None and params.max_attempts < 1:
            out.append(_issue("invalid-max-attempts",
                              f"{where}max_attempts: {params.max_attempts}: use 1 or more (capped by the "
                              "coordinator's max_attempts setting) or omit it"))
        return out

    def _quorum_issues(self, quorum: int, count: int, explicit_count: bool) -> list[dict[str, str]]:
        where = "orchestration_parameters.quorum_count"
        of = f"perspective_count {count}" if explicit_count else f"the default perspective_count {count}"
        br = rules.required_quorum(count)
        floor = self.quorum_floor(count)
        if quorum > count:
            return [_issue("invalid-quorum-count", f"{where}: {quorum} exceeds {of}; a quorum above the cohort can "
                                                   f"never pass. Use {floor}..{count} or omit it")]
        if quorum < br:
            return [_issue(BELOW_BR, f"{where}: {quorum} of {count} lets {count - quorum} perspectives fail; BR "
                                     f"3.2.2.9 allows {count - br} with {count} remote perspectives. Use "
                                     f"{floor}..{count} or omit it (the coordinator requires {floor})")]
        if quorum < floor:
            assert self.default_quorum_count is not None
            return [_issue(BELOW_OPERATOR, f"{where}: {quorum} of {count} is below the operator's quorum "
                                           f"(default_quorum_count {self.default_quorum_count} of "
                                           f"{self.default_perspective_count}: at most "
                                           f"{self.default_perspective_count - self.default_quorum_count} may fail). "
                                           f"Use {floor}..{count} or omit it")]
        return []


def _issue(kind: str, message: str) -> dict[str, str]:
    return {"issue_type": kind, "message": message}
