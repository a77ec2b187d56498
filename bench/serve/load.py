"""Bounded load test of `clp-flow serve` on loopback (Python standard library only).

Sends --requests POST /v1/generate requests from --concurrency client threads, cycling through
weightings (and methods), stops after the last request or after --max-seconds, whichever comes
first, and prints one JSON object: latency percentiles (ms), requests/s, generated tokens/s
(client wall time), the server's own generation time per request (`elapsed_ms`) and the
status counts. Every request must answer 200.

Usage: load.py URL [--requests N] [--concurrency C] [--methods clp,rewarded-soups] [--rewards M]
               [--max-new-tokens T] [--samples S] [--max-seconds S]
"""
import argparse
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse


def weightings(m, count):
    """Evenly spread weightings of m rewards (cycled)."""
    out = []
    for i in range(count):
        if m == 1:
            out.append([1.0])
            continue
        t = (i % 11) / 10
        w = [t, 1 - t] + [0.0] * (m - 2)
        if m > 2:  # rotate mass onto the other rewards too
            k = i % m
            w = w[-k:] + w[:-k] if k else w
        out.append(w)
    return out


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--methods", default="clp")
    ap.add_argument("--rewards", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--input", default="A command-line tool that converts images between formats and resizes them in batch.")
    a = ap.parse_args()
    u = urlparse(a.url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("load.py only targets loopback addresses")
    methods = a.methods.split(",")
    ws = weightings(a.rewards, a.requests)
    bodies = [json.dumps({"input": a.input, "method": methods[i % len(methods)], "weights": ws[i],
                          "samples": a.samples, "temperature": 0.7, "max_new_tokens": a.max_new_tokens,
                          "seed": i}).encode() for i in range(a.requests)]
    lock = threading.Lock()
    next_index = [0]
    latencies, server_ms, tokens, statuses, errors = [], [], [0], {}, []
    deadline = time.monotonic() + a.max_seconds

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.max_seconds)
        while True:
            with lock:
                i = next_index[0]
                if i >= a.requests or time.monotonic() > deadline:
                    break
                next_index[0] += 1
            t0 = time.monotonic()
            try:
                conn.request("POST", "/v1/generate", body=bodies[i], headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                status = r.status
            except Exception as e:  # a dropped connection counts as an error, then reconnect
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.max_seconds)
                with lock:
                    errors.append(str(e))
                continue
            dt = (time.monotonic() - t0) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(dt)
                    answer = json.loads(data)
                    tokens[0] += answer["generated_tokens"]
                    server_ms.append(answer["elapsed_ms"])
                elif len(errors) < 5:
                    errors.append(data.decode(errors="replace")[:200])
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    lat = sorted(latencies)
    result = {
        "requests": len(lat), "concurrency": a.concurrency, "methods": methods, "samples": a.samples,
        "max_new_tokens": a.max_new_tokens, "wall_s": round(wall, 2),
        "latency_ms": {f"p{p}": round(percentile(lat, p), 1) for p in (50, 90, 95, 99)} | {"max": round(lat[-1], 1) if lat else None},
        "server_generation_ms": {f"p{p}": round(percentile(sorted(server_ms), p), 1) for p in (50, 90, 99)},
        "requests_per_s": round(len(lat) / wall, 2), "tokens_per_s": round(tokens[0] / wall, 1),
        "generated_tokens": tokens[0], "status": statuses, "errors": errors[:5],
    }
    print(json.dumps(result))
    if statuses.get(200, 0) != a.requests or errors:
        sys.exit(f"load.py: {a.requests - statuses.get(200, 0)} request(s) did not answer 200: {errors[:3]}")


if __name__ == "__main__":
    main()
