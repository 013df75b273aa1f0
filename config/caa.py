"""``mpic:caa`` — what the runtime may do when a CAA lookup fails (BR 3.2.2.8).

Rendered into every coordinator and perspective (:mod:`plan.runtime`); the runtime still shows
BR 3.2.2.8's three conditions itself before a failure counts as permission (service.caa_lookup).
"""

from __future__ import annotations

from config.settings_base import TargetSettings


class CaaSettings(TargetSettings):
    """``mpic:caa`` — ``{allowLookupFailure}``."""

    allow_lookup_failure: bool = False
    """Honour a request's ``caa_check_parameters.allow_lookup_failure``: a CAA lookup failure then
    counts as permission when the perspective has shown BR 3.2.2.8's three conditions (the failure
    is on the authoritative side, the lookup was retried, the zone is provably without a DNSSEC
    chain). Off (the default): such a request is refused with 400 naming this key."""
