#!/usr/bin/env python3
"""bench/esc_watch.py: a helper of bench/escalations (not a test).

    esc_watch.py SOCKET latency DAY [DAY...] --expect N
        For each DAY (YYYY-MM-DD), in turn: with a `watch` stream open, move
        the simulated clock to DAYT09:00 (the due moment: just before the
        clock_set request is written) and time each escalation notice's
        arrival on the stream until N have come. Prints one line per day and
        a RESULT line over all of them: p50_ms, p99_ms, max_ms.

    esc_watch.py SOCKET clock DAYTHH:MM
        Move the simulated clock (one request) and print the seconds since
        the epoch at which it was sent, for the throughput run.
"""
import json
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def send(self, msg):
        self.s.sendall(json.dumps(msg).encode() + b"\n")

    def recv(self):
        line = self.f.readline()
        if not line:
            raise SystemExit("the daemon closed the connection")
        return json.loads(line)

    def close(self):
        self.f.close()
        self.s.close()


def clock_set(path, to):
    c = Conn(path)
    t = time.time()
    c.send({"op": "clock_set", "to": to})
    r = c.recv()
    c.close()
    if r.get("ok") is False or "error" in r:
        raise SystemExit("clock_set %s: %s" % (to, json.dumps(r)))
    return t


def pct(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def latency(path, days, expect):
    w = Conn(path)
    w.send({"op": "watch", "id": "bench"})
    first = w.recv()
    if not first.get("watching"):
        raise SystemExit("watch: %s" % json.dumps(first))
    arrivals = []
    got = threading.Semaphore(0)

    def reader():
        while True:
            try:
                m = w.recv()
            except (SystemExit, OSError, ValueError):
                got.release()
                return
            n = m.get("notice")
            if n and n.get("kind") == "escalation":
                arrivals.append((time.monotonic(), n.get("fired_on")))
                got.release()
            if m.get("end"):
                got.release()
                return

    threading.Thread(target=reader, daemon=True).start()
    all_ms = []
    for day in days:
        start = len(arrivals)
        c = Conn(path)
        t0 = time.monotonic()
        c.send({"op": "clock_set", "to": day + "T09:00"})
        c.recv()
        c.close()
        deadline = t0 + 120
        while len(arrivals) - start < expect and time.monotonic() < deadline:
            got.acquire(timeout=1)
        mine = [a for a in arrivals[start:] if a[1] == day]
        ms = sorted((a[0] - t0) * 1000 for a in mine)
        if len(ms) < expect:
            print("%s: only %d of %d notices within 120 s" % (day, len(ms), expect))
        print("%s: %d notices, first %.1f ms, p50 %.1f ms, p99 %.1f ms, last %.1f ms" %
              (day, len(ms), ms[0] if ms else float("nan"), pct(ms, 50), pct(ms, 99),
               ms[-1] if ms else float("nan")))
        sys.stdout.flush()
        all_ms += ms
        time.sleep(1.0)  # let the delivery burst of this day pass before the next
    all_ms.sort()
    print("RESULT notices=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" %
          (len(all_ms), pct(all_ms, 50), pct(all_ms, 99), all_ms[-1] if all_ms else float("nan")))
    w.close()


def main():
    if len(sys.argv) >= 4 and sys.argv[2] == "clock":
        print("%.3f" % clock_set(sys.argv[1], sys.argv[3]))
    elif len(sys.argv) >= 6 and sys.argv[2] == "latency" and sys.argv[-2] == "--expect":
        latency(sys.argv[1], sys.argv[3:-2], int(sys.argv[-1]))
    else:
        sys.exit(__doc__)


main()
