#!/usr/bin/env python3
"""Abusive clients for `ops/bench abuse` (stdlib only): runs one scenario against a hub until
killed or --seconds pass, then prints what it did to stderr.

  idle        --connections idle keep-alive connections (1000), reopened when the hub closes one
  slowloris   --connections connections sending a request head a byte at a time (200)
  oversized   a loop of requests with a 32 KiB header line
  clte        a loop of requests with both Content-Length and Transfer-Encoding, smuggling a second
  garbage     a loop of a good request pipelined with garbage
"""
import argparse
import asyncio
import collections
import sys
import time

GOOD = b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
LOOPS = {
    "oversized": b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Big: " + b"a" * 32768 + b"\r\n\r\n",
    "clte": b"POST /oauth2/token HTTP/1.1\r\nHost: hub\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + GOOD,
    "garbage": GOOD + b"\x01\x7fGARBAGE \\ HTTP/9\r\n\r\n" + GOOD,
}

stats = collections.Counter()


async def connect(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    stats["connections"] += 1
    return reader, writer


async def slowloris(port, interval):
    """Sends a head a byte every `interval` seconds; starts again when the hub cuts it off."""
    head = b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: "
    while True:
        try:
            _, writer = await connect(port)
            index = 0
            while True:
                writer.write(head[index:index + 1] if index < len(head) else b"a")
                await writer.drain()
                index += 1
                await asyncio.sleep(interval)
        except OSError:
            stats["closed by hub"] += 1


async def loop(port, payload):
    """Sends `payload`, reads until the hub closes, and again. With one good request, this is an
    idle keep-alive connection: answered, then held until the hub's idle timeout closes it."""
    while True:
        try:
            reader, writer = await connect(port)
            writer.write(payload)
            await writer.drain()
            answer = b""
            while chunk := await reader.read(65536):
                answer += chunk
            # Status lines anywhere: a pipelined response follows a body without a line break.
            for response in answer.split(b"HTTP/1.1 ")[1:]:
                stats["status " + response[:3].decode(errors="replace")] += 1
            writer.close()
        except OSError:
            stats["errors"] += 1


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["idle", "slowloris", *LOOPS])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=3600)
    args = parser.parse_args()
    if args.scenario in LOOPS:
        count = args.connections or 8
        work = [loop(args.port, LOOPS[args.scenario]) for _ in range(count)]
    else:
        count = args.connections or (1000 if args.scenario == "idle" else 200)
        if args.scenario == "idle":
            work = [loop(args.port, GOOD) for _ in range(count)]
        else:
            work = [slowloris(args.port, 1.0) for _ in range(count)]
    tasks = [asyncio.ensure_future(w) for w in work]
    started = time.monotonic()
    try:
        await asyncio.wait(tasks, timeout=args.seconds)
    except asyncio.CancelledError:  # SIGTERM
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"{args.scenario}: {dict(stats)} in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    import signal

    loop_ = asyncio.new_event_loop()
    main_task = loop_.create_task(main())
    loop_.add_signal_handler(signal.SIGTERM, main_task.cancel)
    loop_.run_until_complete(main_task)
