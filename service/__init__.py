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



def __getattr__(name: str) -> str:
    """``CORE_VERSION``, the core's version (part of what /healthz reports), read on first use:
    importing ``open_mpic_core`` imports all of it (~0.35 s), which the kit's tools that only read
    the runtime's audit format or settings (``mpic evidence``, ``mpic status``) never need."""
    if name != "CORE_VERSION":
        raise AttributeError(f"module 'service' has no attribute {name!r}")
    try:
        from open_mpic_core.__about__ import __version__ as version
    except Exception:  # pragma: no cover - the core always ships __about__
        version = "unknown"
    globals()["CORE_VERSION"] = version
    return version
