"""User-space WAN emulation: a TCP relay that holds every chunk for a set one-way delay.

The kernel here has no ``netem``, so each region's backbone entry point is this relay::

    python -m local.daemons.relay --listen 10.213.1.20:8443 --upstream 127.0.0.1:8444 \
        --delay-file /run/mpic-fleet/local/regions/eu-west-1/delay_ms

Data in both directions is forwarded ``delay`` ms after it arrived (order preserved), so a
request/response exchange costs 2 x delay more, like a real path. The delay is re-read from the
file on SIGHUP (``mpic fault slow``), and a delay file containing ``drop`` is not used: faults
that drop traffic use nft on the backbone instead.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path

from local.engine.users import drop_to


class Relay:
    def __init__(self, upstream: tuple[str, int], delay_file: Path | None, delay_ms: float = 0.0):
        self.upstream = upstream
        self.delay_file = delay_file
        self.delay = delay_ms / 1000.0
        self.reload()

    def reload(self) -> None:
        if self.delay_file is not None:
            try:
                self.delay = max(0.0, float(self.delay_file.read_text().strip() or 0)) / 1000.0
            except (OSError, ValueError):
                pass

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def sender() -> None:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        task = asyncio.create_task(sender())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((time.monotonic() + self.delay, data))
                if not data:
                    break
            await task
        except (ConnectionError, asyncio.CancelledError, OSError):
            task.cancel()
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self.pump(reader, up_writer), self.pump(up_reader, writer), return_exceptions=True)


async def serve(listen: tuple[str, int], relay: Relay, user: str | None = None) -> None:
    server = await asyncio.start_server(relay.handle, listen[0], listen[1], reuse_address=True)
    if user:
        drop_to(user)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, relay.reload)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


def _hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m local.daemons.relay", description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, type=_hostport)
    ap.add_argument("--upstream", required=True, type=_hostport)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--delay-file", type=Path)
    ap.add_argument("--user", help="run as this user once the port is bound")
    args = ap.parse_args(argv)
    asyncio.run(serve(args.listen, Relay(args.upstream, args.delay_file, args.delay_ms), args.user))


if __name__ == "__main__":
    main()
