"""The Pulumi SDK internals the offline preview needs, and nothing else does: all in this module.

Checked against ``pulumi`` 3.272.0 (requirements.lock). The public testing API
(``pulumi.runtime.Mocks``, ``set_mocks``, ``set_all_config``, ``MockMonitor``) runs a program under
mocks, but it has no public way to: run a program function and wait for every output it
registered (``run_pulumi_func`` + ``_sync_await``), forget the outputs and RPCs an earlier run left
pending in the same process (``SETTINGS``, ``_get_rpc_manager``), start a fresh root stack
(``ROOT``), read a registration's inputs (``rpc.deserialize_properties``), or tell a secret from a
plain value in them (the wire format's signature key). When the SDK changes one of these, only
this module changes (the tests of ``preview/`` exercise each).
"""

from __future__ import annotations

from typing import Any, Callable

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

MockMonitor = pulumi_mocks.MockMonitor
MockResourceArgs = pulumi_mocks.MockResourceArgs
MockCallArgs = pulumi_mocks.MockCallArgs

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
"""How a secret value travels on the wire (``pulumi.runtime.rpc._special_sig_key`` / ``_special_secret_sig``)."""


def reset() -> None:
    """Forget the SDK's pending outputs and RPCs, so an error raised inside an ``apply`` of one
    run is not raised again by the next run in the same process."""
    pulumi_settings._get_rpc_manager().clear()  # noqa: SLF001 - the SDK has no public reset
    with pulumi_settings.SETTINGS.lock:
        pulumi_settings.SETTINGS.outputs.clear()


def fresh_root() -> None:
    """The next program registers a new root stack resource."""
    pulumi_settings.ROOT.set(None)


def root_outputs() -> dict[str, Any]:
    """The stack outputs the last program exported (empty when it registered no root)."""
    root = pulumi_settings.get_root_resource()
    return dict(getattr(root, "outputs", {}) or {}) if root is not None else {}


def run(fn: Callable[[], Any]) -> None:
    """Run ``fn`` as a Pulumi program and wait for every output it registered (raises its RunError)."""
    _sync_await(run_pulumi_func(fn))


def wait(awaitable: Any) -> Any:
    """The value of an awaitable of the SDK (an output's ``future()``, ``is_known()``, ``is_secret()``)."""
    return _sync_await(awaitable)


def deserialize(struct: Any) -> dict[str, Any]:
    """A registration's properties (the gRPC ``Struct``) as Python values, secrets as wire maps."""
    return rpc.deserialize_properties(struct)


def is_secret_wire(value: Any) -> bool:
    """A deserialized secret (``{sig: secret, value: ...}``)."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE
