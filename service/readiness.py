"""The coordinator's public ``GET /readyz``: can it corroborate right now?

Ready when the default configuration still meets BR 3.2.2.9 on the day and enough perspectives
answer their own ``/readyz`` (over the same mTLS channel as checks) to reach the default quorum
across at least two RIRs. Perspectives behind AWS Lambda count as ready (the transport has
nothing to probe without running a check: service.transport.RoutingTransport.probe). The answer
is cached for :data:`CACHE_SECONDS` and computed by one probe round at a time, so the public
endpoint cannot multiply load on the perspectives. The body says only ``ready`` or
``not-ready``: details are on the internal ``/healthz``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from service.settings import PerspectiveTarget

CACHE_SECONDS = 5.0
Probe = Callable[[PerspectiveTarget, float], Awaitable[bool]]


class Readiness:
    def __init__(self, targets: list[PerspectiveTarget], probe: Probe, quorum: Callable[[], int],
                 multi_rir: bool, config_ok: Callable[[], bool], timeout: float):
        self._targets = targets
        self._probe = probe
        self._quorum = quorum
        self._multi_rir = multi_rir
        self._config_ok = config_ok
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._cached: tuple[float, bool] | None = None

    async def _one(self, target: PerspectiveTarget) -> bool:
        try:
            return await asyncio.wait_for(self._probe(target, self._timeout), self._timeout)
        except Exception:  # noqa: BLE001 - unreachable, slow or refusing: not ready
            return False

    async def _compute(self) -> bool:
        if not self._config_ok():
            return False
        answers = await asyncio.gather(*(self._one(t) for t in self._targets))
        ready = [t for t, ok in zip(self._targets, answers) if ok]
        rirs = {t.effective_rir for t in ready}
        return len(ready) >= self._quorum() and (len(rirs) >= 2 or not self._multi_rir)

    async def ready(self) -> bool:
        async with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > CACHE_SECONDS:
                self._cached = (now, await self._compute())
            return self._cached[1]
