"""MPIC Fleet runtime: the perspective and coordinator services (Open MPIC API 3.x).

Deployed as processes (``python -m service perspective|coordinator|canary --settings FILE``), as
containers (see ``Dockerfile``) or as AWS Lambda functions (``service.lambda_handler``). Knows
nothing about Pulumi; it may use ``config.catalog`` for region facts.
"""

__version__ = "0.1.0"

AWAIT_ALL_HEADER = "x-mpic-await-all"
"""Kit extension: ``X-MPIC-Await-All: true`` waits for every perspective of the cohort even with
early quorum on. It can only make a request slower, never weaker; the canary (service.canary)
uses it to measure its margin (perspectives passed minus quorum)."""

try:  # the core's version is part of what /healthz reports
    from open_mpic_core.__about__ import __version__ as CORE_VERSION
except Exception:  # pragma: no cover - the core always ships __about__
    CORE_VERSION = "unknown"
