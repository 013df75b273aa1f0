"""One cold start of a built Lambda function, timed from inside: the bootstrap :mod:`bench.lambdas`
runs as ``python -S -B -P coldstart.py SPEC OUT`` in a fresh interpreter whose only import path
besides the standard library is the unpacked zip (``PYTHONPATH``), in the environment the deployed
function has. Standard library only: like Lambda's own runtime it resolves the function's handler
from its name (SPEC's ``handler``, the manifest's ``module.function``) in the zip, so nothing of
the kit or of its virtualenv is loaded (``-S``: no site-packages; ``-B``: no bytecode written, as on
Lambda's read-only ``/var/task``; ``-P``: this file's folder is not on the path).

The phases, each ended by a ``time.monotonic()`` reading (system-wide, so the parent's spawn time
is on the same clock):

- ``boot``: the interpreter is up and runs this file;
- ``import``: the handler's module imported (what Lambda's init phase does with the handler);
- ``settings``: the first invoke, the scheduled warm-up event (``{"warmup": true}``): the settings
  read from the environment and the service built, as every cold invoke does first;
- ``answer``: the first request answered (the event of SPEC).

The coordinator's perspectives are stubs behind the invoke call the deployed coordinator makes:
the handler's ``lambda_client_factory`` seam gets the deployed factory itself (SPEC's
``client_factory``, resolved from the zip when the first client is made: boto3 imported, a real
botocore client per region, each request serialised and SigV4-signed), and only the HTTP send of
``lambda:Invoke`` is answered in-process (botocore's ``before-send`` event) with the check response
the function of that ARN would give (SPEC's ``perspectives``: ``{arn: {code, rir, aws_region}}``).
"""

from __future__ import annotations

import time

T_BOOT = time.monotonic()

import importlib  # noqa: E402 - after the first clock reading
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:  # the annotations only: typing's import would be timed as the bootstrap's
    from typing import Any, Callable

INVOKE_EVENT = "before-send.lambda.Invoke"


def memory_kib() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (the peak) of this process, KiB."""
    out = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def perspective_answer(function: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    """What the perspective function ``function`` answers to a CAA check that passes."""
    target = payload.get("domain_or_ip_target", "")
    return {"check_type": payload.get("check_type", "caa"), "check_completed": True, "check_passed": True,
            "errors": None, "timestamp_ns": time.time_ns(),
            "details": {"caa_record_present": True, "found_at": target, "records_seen": ['0 issue "ca.mpic.test"']},
            "mpic_perspective": function}


class _Body:
    """The raw HTTP body botocore reads an answer from (``stream()`` and ``read()``)."""

    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def stream(self, amt: int = 1 << 16, decode_content: bool = True) -> Any:
        while self.offset < len(self.data):
            yield self.read(amt)

    def read(self, amt: int | None = None) -> bytes:
        end = len(self.data) if amt is None else min(len(self.data), self.offset + amt)
        chunk, self.offset = self.data[self.offset:end], end
        return chunk


def stub_invoke(perspectives: dict[str, dict[str, str]]) -> Callable[..., Any]:
    """botocore's ``before-send`` handler answering ``lambda:Invoke`` for the stub functions:
    the ARN from the request's URL (``/2015-03-31/functions/<arn>/invocations``), the payload from
    its body; an unknown ARN answers as Lambda does (404)."""
    from urllib.parse import unquote

    from botocore.awsrequest import AWSResponse

    def answer(request: Any, **_: Any) -> Any:
        arn = unquote(request.url.split("/functions/", 1)[1].split("/invocations", 1)[0])
        function = perspectives.get(arn)
        if function is None:
            body = json.dumps({"Type": "User", "message": f"Function not found: {arn}"}).encode()
            return AWSResponse(request.url, 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, _Body(body))
        body = json.dumps(perspective_answer(function, json.loads(request.body))).encode()
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST",
                   "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, _Body(body))

    return answer


def resolve(name: str) -> Any:
    """``package.module.attribute`` of the zip, as Lambda's runtime resolves a handler."""
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def stubbed_factory(deployed: str, perspectives: dict[str, dict[str, str]]) -> Callable[[str | None], Any]:
    """The deployed client factory (named ``deployed``: resolved at the first client, when the
    coordinator has loaded it), each client's invoke answered by :func:`stub_invoke`."""
    made: dict[str, Any] = {}

    def factory(region: str | None) -> Any:
        if not made:
            made.update(make=resolve(deployed), answer=stub_invoke(perspectives))
        client = made["make"](region)
        client.meta.events.register(INVOKE_EVENT, made["answer"])
        return client

    return factory


def _summary(role: str, reply: dict[str, Any]) -> dict[str, Any]:
    if role == "coordinator":
        body = json.loads(reply.get("body") or "{}")
        return {"status": reply.get("statusCode"), "is_valid": body.get("is_valid"), "error": body.get("error"),
                "perspectives": len(body.get("perspectives") or [])}
    return {"check_completed": reply.get("check_completed"), "check_passed": reply.get("check_passed"),
            "errors": reply.get("errors"), "error": reply.get("error")}


def run(spec: dict[str, Any], boot: float = T_BOOT) -> dict[str, Any]:
    """The four phases of one cold start of SPEC's ``role`` (``coordinator`` | ``perspective``)."""
    clock = {"boot": boot}
    handler = resolve(spec["handler"])
    clock["import"] = time.monotonic()
    seam: dict[str, Any] = {}
    if spec.get("client_factory"):
        seam["lambda_client_factory"] = stubbed_factory(spec["client_factory"], spec["perspectives"])
    warm = handler({"warmup": True}, None, **seam)
    clock["settings"] = time.monotonic()
    reply = handler(spec["event"], None)
    clock["answer"] = time.monotonic()
    cpu = os.times()
    return {"clock": clock, "memory_kib": memory_kib(), "cpu_s": cpu.user + cpu.system, "warmup": warm,
            "answer": _summary(spec["role"], reply), "modules": len(sys.modules)}


def main(argv: list[str]) -> None:
    """``SPEC OUT``: run :func:`run` with SPEC (a JSON file), write its result to OUT."""
    spec, out = argv
    with open(spec) as fh:
        result = run(json.load(fh))
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":  # pragma: no cover - run in the cold interpreter by bench.lambdas
    main(sys.argv[1:])
