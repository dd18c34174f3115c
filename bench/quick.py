"""A quick look at one page or endpoint on a bench database, in-process, while working on it
(``make bench`` gives the numbers that count; this is for before and after one change).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench_big \\
        .venv/bin/python -m bench.quick --as desk /clients/?q=smi /schedule/

For each path: a warm-up, then ``--rounds`` rounds of ``--n`` requests of the one-primary-key
floor and ``--n`` of the path, interleaved; prints the median milliseconds per request of
each, the ratio (floor time over path time, as ``× floor`` in docs/benchmarks.md) and the
queries of one request. ``--as`` is ``desk``, ``manager`` or ``est`` (the first
esthetician); paths may hold ``{probe}`` (the manifest's probe client) and ``{est}``.
``--token`` sends an API token (``Authorization: Token ...``, as the load generator does)
instead of a logged-in session; the token is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-quick-" + "x" * 60)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from knox.models import AuthToken  # noqa: E402

from clinic.models import User  # noqa: E402

VAR = Path(__file__).resolve().parent.parent / "var" / "bench"


def _timed(client: HttpClient, path: str, n: int, **headers) -> float:
    started = time.perf_counter()
    for _ in range(n):
        accept = "application/json" if "/api/" in path else "*/*"
        answer = client.get(path, HTTP_ACCEPT=accept, **headers)
        if answer.status_code >= 400:
            raise SystemExit(f"{path}: {answer.status_code} {answer.content[:300]!r}")
    return (time.perf_counter() - started) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--as", dest="who", default="desk", choices=["desk", "manager", "est"])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--token", action="store_true", help="an API token, not a session")
    args = parser.parse_args()

    name = connection.settings_dict["NAME"]
    manifest_path = VAR / f"{name}.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    probe = manifest.get("probe_client", 1)
    est = (manifest.get("estheticians") or [{"id": 0, "username": ""}])[0]
    username = {"desk": "bench-desk", "manager": "bench-manager", "est": est["username"]}
    client = HttpClient()
    user = User.objects.get(username=username[args.who])
    headers, token = {}, None
    if args.token:
        token, key = AuthToken.objects.create(user=user)
        headers["HTTP_AUTHORIZATION"] = f"Token {key}"
    else:
        client.force_login(user)
    floor = f"/bench/floor/pk/{probe}/"
    try:
        for raw in args.paths:
            _measure(client, raw.format(probe=probe, est=est["id"]), floor, args, headers)
    finally:
        if token is not None:
            token.delete()


def _measure(client: HttpClient, path: str, floor: str, args, headers: dict) -> None:
    _timed(client, path, 2, **headers)
    # The bench's own count (bench.queries): every query from the first middleware on.
    queries = int(client.get(path, HTTP_X_BENCH_QUERIES="1", **headers)["X-Bench-Queries"])
    floors, cases = [], []
    for _ in range(args.rounds):
        floors.append(_timed(client, floor, args.n))
        cases.append(_timed(client, path, args.n, **headers))
    f, c = statistics.median(floors), statistics.median(cases)
    print(f"{path}\n  {c:8.2f} ms  floor {f:6.2f} ms  {f / c:6.3f}× floor  {queries} queries")


if __name__ == "__main__":
    main()
