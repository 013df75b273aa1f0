"""A small Prometheus text-format registry (counters and histograms with labels).

Thread-safe, dependency-free; exposed at ``GET /metrics`` on both roles.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
Labels = tuple[tuple[str, str], ...]


def _labels(labels: dict[str, str]) -> Labels:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _fmt(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = list(labels) + list(extra)
    if not items:
        return ""
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"' for k, v in items)
    return "{" + inner + "}"


class Metrics:
    """Counters (``inc``) and histograms (``observe``) rendered by ``render()``."""

    def __init__(self, buckets: tuple[float, ...] = _DEFAULT_BUCKETS):
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._hist: dict[str, dict[Labels, list[float]]] = defaultdict(dict)
        self._buckets = buckets

    def describe(self, name: str, kind: str, text: str) -> None:
        self._help[name] = (kind, text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = _labels(labels)
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = _labels(labels)
        with self._lock:
            series = self._hist[name]
            data = series.get(key)
            if data is None:  # per bucket: the values in it and none below (cumulated in render); count, sum
                data = series[key] = [0.0] * (len(self._buckets) + 2)
            index = bisect.bisect_left(self._buckets, value)  # the first bucket with value <= its bound
            if index < len(self._buckets):
                data[index] += 1
            data[-2] += 1
            data[-1] += value

    def value(self, name: str, **labels: str) -> float:
        """Current counter value (0 when absent); histogram count for a histogram name."""
        key = _labels(labels)
        with self._lock:
            if name in self._counters:
                return self._counters[name].get(key, 0.0)
            data = self._hist.get(name, {}).get(key)
            return data[-2] if data else 0.0

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            for name in sorted(set(self._counters) | set(self._hist)):
                kind, text = self._help.get(name, ("histogram" if name in self._hist else "counter", name))
                out.append(f"# HELP {name} {text}")
                out.append(f"# TYPE {name} {kind}")
                for key, val in sorted(self._counters.get(name, {}).items()):
                    out.append(f"{name}{_fmt(key)} {val:g}")
                for key, data in sorted(self._hist.get(name, {}).items()):
                    below = 0.0
                    for i, bound in enumerate(self._buckets):
                        below += data[i]
                        out.append(f"{name}_bucket{_fmt(key, (('le', f'{bound:g}'),))} {below:g}")
                    out.append(f"{name}_bucket{_fmt(key, (('le', '+Inf'),))} {data[-2]:g}")
                    out.append(f"{name}_count{_fmt(key)} {data[-2]:g}")
                    out.append(f"{name}_sum{_fmt(key)} {data[-1]:.6f}")
        return "\n".join(out) + "\n"
