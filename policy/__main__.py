"""The MPIC Fleet policy pack (pulumi-policy): ``pulumi preview --policy-pack policy``.

Every rule lives in :mod:`policy.rules` (also evaluated by ``mpic plan`` under mocks); the BR
3.2.2.9 rules are those of :mod:`config.compliance`, run on the fleet's manifest resource.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.adapter import stack_policies  # noqa: E402

PolicyPack(name="mpic-fleet", enforcement_level=EnforcementLevel.MANDATORY, policies=stack_policies())
