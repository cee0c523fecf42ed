"""Refresh-token load on a hub through a Redis failover, for `ops/bench topologies`.

Each worker logs in once (password grant) and then rotates its refresh token over and over on
one keep-alive connection, the way a busy client would: a 503 is retried with the same token
after 20 ms, an `invalid_grant` (a rotation lost in the failover) logs in again. The load runs
until SIGTERM or SIGINT, then prints one JSON line: requests by status, transport errors, and
the unavailable window: from the first request that did not succeed to the first success after
the last one (zero when every request succeeded).

Usage: failover.py --port P --client ID --secret S --user U --password PW [--workers N]
"""

import argparse
import base64
import http.client
import json
import signal
import threading
import time
import urllib.parse


class Record:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = {}
        self.errors = 0
        self.first_failure = None
        self.last_failure = None
        self.recovered = None

    def add(self, status, started):
        with self.lock:
            if status is None:
                self.errors += 1
            else:
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if status != 200:
                if self.first_failure is None:
                    self.first_failure = started
                self.last_failure = started
                self.recovered = None
            elif self.last_failure is not None and self.recovered is None:
                self.recovered = time.monotonic()

    def summary(self):
        with self.lock:
            window = 0.0
            if self.first_failure is not None:
                end = self.recovered if self.recovered is not None else self.last_failure
                window = end - self.first_failure
            return {
                "requests": sum(self.statuses.values()) + self.errors,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "errors": self.errors,
                "unavailable_ms": round(window * 1000, 1),
            }


def worker(args, record, stop):
    basic = base64.b64encode(f"{args.client}:{args.secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
    connection = None
    refresh = None
    while not stop.is_set():
        if refresh is None:
            body = {"grant_type": "password", "username": args.user, "password": args.password, "scope": "profile"}
        else:
            body = {"grant_type": "refresh_token", "refresh_token": refresh}
        started = time.monotonic()
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            connection.request("POST", "/oauth2/token", urllib.parse.urlencode(body), headers)
            response = connection.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            if connection is not None:
                connection.close()
            connection = None
            record.add(None, started)
            time.sleep(0.02)
            continue
        record.add(status, started)
        if status == 200:
            refresh = json.loads(payload).get("refresh_token")
        elif status == 400:
            refresh = None  # a rotation the failover lost: start a new session
        else:
            time.sleep(0.02)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    record = Record()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=worker, args=(args, record, stop), daemon=True) for _ in range(args.workers)]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(0.1)
    for thread in threads:
        thread.join(timeout=12)
    print(json.dumps(record.summary()), flush=True)


if __name__ == "__main__":
    main()
