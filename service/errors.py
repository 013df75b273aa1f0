"""Error shapes shared by both roles.

- 400 ``{"error": "request-validation-failed", "validation_issues": [{"issue_type", "message"}]}``
  for everything invalid, including what a framework would answer with 422 (model errors);
- the core's incomplete check response (``check_completed: false`` with one error), for checks
  that could not run or were not awaited.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from open_mpic_core import (
    CaaCheckResponse,
    CaaCheckResponseDetails,
    CheckResponse,
    CheckType,
    DcvCheckResponse,
    DcvCheckResponseDetailsBuilder,
    MpicRequestValidationMessages,
    MpicValidationError,
)

VALIDATION_FAILED = MpicRequestValidationMessages.REQUEST_VALIDATION_FAILED.key


def validation_issues(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as Open MPIC ``validation_issues`` entries (issue_type = pydantic's type)."""
    issues = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(x) for x in err.get("loc", ()))
        issues.append({"issue_type": err.get("type", "invalid"), "message": f"{loc}: {err.get('msg')}".lstrip(": ")})
    return issues


def bad_request(issues: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return 400, {"error": VALIDATION_FAILED, "validation_issues": issues}


def incomplete_check(check_type: CheckType, method: Any, error: MpicValidationError) -> CheckResponse:
    """An incomplete check response (``method``: the DCV validation method; unused for CAA)."""
    if check_type == CheckType.CAA:
        return CaaCheckResponse(
            check_completed=False, check_passed=False, errors=[error],
            details=CaaCheckResponseDetails(caa_record_present=None), timestamp_ns=time.time_ns(),
        )
    return DcvCheckResponse(
        check_completed=False, check_passed=False, errors=[error],
        details=DcvCheckResponseDetailsBuilder.build_response_details(method), timestamp_ns=time.time_ns(),
    )
