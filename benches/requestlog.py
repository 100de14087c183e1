#!/usr/bin/env python3
"""Figures from the Graph emulator's request log (GET /_emulator/requests), for benches/*.sh.

  requestlog.py summary FROM < log.json     round trips, requests inside $batch, statuses
  requestlog.py chain FROM < log.json       the longest chain of round trips that ran one
                                            after the other (each started after the previous
                                            one was answered), with its requests listed
  requestlog.py timeline FROM < log.json    every request with its start and duration
  requestlog.py writes FROM < log.json      app-assignment writes over time (benchmark 5)

A round trip is an entry with batch_id null (token requests included); entries inside a
$batch are not round trips. FROM is the log index where the measured command started.
"""
import collections
import json
import re
import sys


def key(entry):
    path = re.sub(r"[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,}", "{id}", entry["path"].split("?")[0])
    return f'{entry["method"]} {path}'


def summary(log):
    top = [e for e in log if e.get("batch_id") is None]
    inner = [e for e in log if e.get("batch_id") is not None]
    statuses = collections.Counter(e["status"] for e in log)
    print(f"round_trips={len(top)} in_batch={len(inner)} "
          f"throttled_429={statuses.get(429, 0)} "
          f"errors_4xx_5xx={sum(n for s, n in statuses.items() if s >= 400 and s != 429)}")


def chain(log):
    top = sorted((e for e in log if e.get("batch_id") is None), key=lambda e: e["started_us"])
    # Longest path in the "answered before started" order: O(n^2) is fine for a few thousand.
    best = [1] * len(top)
    prev = [-1] * len(top)
    for j, b in enumerate(top):
        for i in range(j):
            if top[i]["finished_us"] <= b["started_us"] and best[i] + 1 > best[j]:
                best[j], prev[j] = best[i] + 1, i
    if not top:
        print("chain=0")
        return
    j = max(range(len(top)), key=lambda k: best[k])
    path = []
    while j >= 0:
        path.append(top[j])
        j = prev[j]
    path.reverse()
    span = (top[-1]["finished_us"] if top else 0) - top[0]["started_us"]
    print(f"chain={len(path)} first_to_last_ms={span / 1000:.0f}")
    t0 = path[0]["started_us"]
    for e in path:
        print(f'  {(e["started_us"] - t0) / 1000:8.0f} ms  {(e["finished_us"] - e["started_us"]) / 1000:5.0f} ms  {key(e)}')


def timeline(log):
    t0 = min((e["started_us"] for e in log), default=0)
    for e in sorted(log, key=lambda e: e["started_us"]):
        inner = "   in $batch" if e.get("batch_id") is not None else ""
        print(f'  {(e["started_us"] - t0) / 1000:8.0f} ms  {(e["finished_us"] - e["started_us"]) / 1000:5.0f} ms  '
              f'{e["status"]}  {key(e)}{inner}')


def writes(log):
    """Intune writes that created app assignments: how they were spread over time."""
    posts = [e for e in log if e["method"] == "POST" and e["path"].split("?")[0].endswith("/assignments")]
    t = sorted(e["started_us"] for e in posts if e["status"] == 201)
    span = (t[-1] - t[0]) / 1e6 if t else 0
    # Most writes that arrived within any 20 s: must stay at or below the limit.
    peak, j = 0, 0
    for i in range(len(t)):
        while t[i] - t[j] >= 20_000_000:
            j += 1
        peak = max(peak, i - j + 1)
    print(f"writes created: {len(t)}  write attempts: {len(posts)}  first to last write: {span:.1f} s  "
          f"most writes in any 20 s: {peak}")
    # Where the time goes: the plan, then the apply (a new provider process: a second token).
    tokens = sorted(e["started_us"] for e in log if "/oauth2/" in e["path"])
    first = min((e["started_us"] for e in log), default=0)
    if len(tokens) >= 2 and t:
        print(f"plan phase (first request to the second token): {(tokens[1] - first) / 1e6:.1f} s  "
              f"second token to first write: {(t[0] - tokens[1]) / 1e6:.1f} s")
    marks = sorted({*range(0, len(t), 100), *range(99, len(t), 100)})
    print("write n sent at (s after the first write): "
          + "  ".join(f"#{i + 1} {(t[i] - t[0]) / 1e6:.1f}" for i in marks))


def main():
    what, start = sys.argv[1], int(sys.argv[2])
    log = json.load(sys.stdin)[start:]
    {"summary": summary, "chain": chain, "timeline": timeline, "writes": writes}[what](log)


if __name__ == "__main__":
    main()
