"""The best compliant region set (``mpic suggest``) and the closest compliant set to a config
(``mpic check``'s repair). Pure: no I/O.

- :mod:`plan.suggest.best` — the objective, :func:`suggest` and the answer it builds;
- :mod:`plan.suggest.model` — request and answer (:class:`SuggestRequest`, :class:`Suggestion`);
- :mod:`plan.suggest.checks` — refusals of requests no set can meet, and what to relax;
- :mod:`plan.suggest.search` and :mod:`plan.suggest.band` — the exact search (branch and bound);
- :mod:`plan.suggest.repair` — the closest compliant set to a non-compliant config.
"""

from plan.suggest.best import (
    DEFAULT_TIME_BUDGET_S,
    DEFAULT_TOLERANCE_KM,
    MIN_COUNT,
    SuggestRequest,
    Suggestion,
    build_suggestion,
    rtt_floor_ms,
    suggest,
)

__all__ = ["DEFAULT_TIME_BUDGET_S", "DEFAULT_TOLERANCE_KM", "MIN_COUNT", "SuggestRequest", "Suggestion",
           "build_suggestion", "rtt_floor_ms", "suggest"]
