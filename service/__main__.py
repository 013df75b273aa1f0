"""``python -m service perspective|coordinator|canary --settings FILE.yaml``

Runs the role in the foreground (uvicorn). SIGTERM/SIGINT: graceful shutdown, audit flushed,
exit 0. ``canary`` runs the production canary (service.canary) every ``interval`` seconds, or
once with ``--once`` (exit 0 when the run gave the expected verdicts, 1 otherwise). Bad settings: exit 2 with one line on stderr (no traceback). Settings come from the
file and ``MPIC_*`` environment variables; the environment wins.
"""

from __future__ import annotations

import argparse
import sys

from service.settings import CoordinatorSettings, PerspectiveSettings, SettingsError, load_settings
from service.settings_canary import CanarySettings

PROG = "mpic-service"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="MPIC Fleet runtime (Open MPIC API 3.x)")
    parser.add_argument("role", choices=["perspective", "coordinator", "canary"])
    parser.add_argument("--settings", help="YAML settings file (MPIC_* env vars override its keys)")
    parser.add_argument("--check", action="store_true", help="validate the settings and exit")
    parser.add_argument("--once", action="store_true", help="canary: one run, then exit (for schedulers)")
    args = parser.parse_args(argv)
    if args.role == "canary":
        return _canary(args)

    from service import server  # heavy imports after argument parsing

    try:
        if args.role == "perspective":
            settings = load_settings(PerspectiveSettings, args.settings)
            server.configure_logging(settings.log_level_number)
            config = server.perspective_config(settings)
        else:
            settings = load_settings(CoordinatorSettings, args.settings)
            server.configure_logging(settings.log_level_number)
            config = server.coordinator_config(settings)
    except SettingsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{PROG}: {args.role} settings OK", file=sys.stderr)
        return 0
    import signal

    # uvicorn handles SIGTERM/SIGINT itself (graceful shutdown, lifespan closes the audit log) and
    # then re-raises the signal against the handlers found at start: make those no-ops so a clean
    # shutdown exits 0 instead of "killed by SIGTERM".
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.build_server(config).run()
    return 0


def _canary(args: argparse.Namespace) -> int:
    import json
    import signal
    import threading

    from service import canary

    try:
        settings = load_settings(CanarySettings, args.settings)
    except SettingsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{PROG}: canary settings OK", file=sys.stderr)
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        result = canary.run(settings)
        if settings.sink.kind != "emf":  # emf already printed the run
            print(json.dumps(result.to_json()), flush=True)
        if args.once or stop.wait(settings.interval):
            return 0 if result.ok or not args.once else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
