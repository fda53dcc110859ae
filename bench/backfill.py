"""`loopgate backfill pagerduty`: incidents a second, stored and applied, against PagerDuty's rate limit.

Per target (sqlite, postgres): a fresh migrated database; the PagerDuty stand-in in its own
process (tests/standins/pagerduty.py, `--incidents N`, resolved incidents 6 h apart from
2025-01-01, 8 log entries, 1 alert, 1 note each, over TLS); the real command in its own
process, jobs in-process (no Redis), its own rate limit lifted so that it shows what
Loopgate can do. Timed: the import (listing, log entries, inbox rows stored), then the
apply (the same apply_inbox job as webhooks, packets included), as the command reports
them, and the whole process.

Baseline, from the same run: PagerDuty's own limit of 960 requests a minute, for the
requests this run made (stand-in request log) — the fastest a real backfill could go.
`ratio` = the measured import rate ÷ that ceiling: above 1, the rate limit and not
Loopgate is what bounds a real backfill.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    ROOT,
    StandIn,
    add_output_options,
    backend_targets,
    command_line,
    markdown,
    new_parser,
    open_database,
    section_head,
    server_env,
    write_docs,
    write_json,
)

SECTION = "## Backfill: loopgate backfill pagerduty"
REPORT = re.compile(r"(\d+) incidents.*?(\d+) events stored in ([\d.]+) s \(([\d.]+) incidents/s\), "
                    r"applied in ([\d.]+) s more")


def run(target: str, incidents: int) -> dict[str, object]:
    database = open_database(target)
    standin = StandIn(incidents=incidents, log_entries=8, alerts=1, notes=1, request_log=True)
    try:
        env = server_env(database.url, standin, ["LOOPGATE_PAGERDUTY_REQUESTS_PER_MINUTE=1000000"])
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "app.cli", "backfill", "pagerduty", "--since", "2025-01-01",
                                 "--until", "2026-06-01"], cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
    finally:
        records = standin.stop()
        database.cleanup()
    if result.returncode != 0:
        raise SystemExit(f"{target}: the backfill exited {result.returncode}: {result.stderr}")
    match = REPORT.search(result.stdout)
    assert match, result.stdout
    seen, events, import_s, rate, apply_s = match.groups()
    backfill_requests = sum(1 for r in records if "/log_entries" in r["path"] and "is_overview=true" in r["path"]
                            or r["path"].startswith("/incidents?"))
    ceiling = 960 / 60 / (backfill_requests / int(seen))  # incidents/s PagerDuty's limit allows
    return {"target": target, "incidents": int(seen), "events": int(events), "import_s": float(import_s),
            "import_rate": float(rate), "apply_s": float(apply_s), "wall_s": wall,
            "applied_rate": int(seen) / (float(import_s) + float(apply_s)),
            "requests": backfill_requests, "all_requests": len(records), "ceiling": ceiling,
            "ratio": float(rate) / ceiling}


def main(argv: list[str] | None = None) -> None:
    parser = new_parser(__doc__)
    parser.add_argument("--targets", help="sqlite,postgres (default: sqlite, and postgres under testenv)")
    parser.add_argument("--incidents", type=int, default=2000)
    add_output_options(parser, SECTION)
    args = parser.parse_args(argv)
    targets = backend_targets(parser, args.targets, "backfill.py")
    results = []
    for target in targets:
        print(f"{target}: backfilling {args.incidents} incidents…", flush=True)
        results.append(run(target, args.incidents))
        print(results[-1], flush=True)
    rows = [("target", "incidents", "events stored", "import s", "import incidents/s", "apply s",
             "stored+applied incidents/s", "process s", "backfill requests", "all requests (with packets)",
             "PagerDuty ceiling incidents/s", "ratio")]
    rows += [(r["target"], f"{r['incidents']:,}", f"{r['events']:,}", f"{r['import_s']:.1f}",
              f"{r['import_rate']:.1f}", f"{r['apply_s']:.1f}", f"{r['applied_rate']:.1f}", f"{r['wall_s']:.1f}",
              f"{r['requests']:,}", f"{r['all_requests']:,}", f"{r['ceiling']:.1f}", f"{r['ratio']:.2f}")
             for r in results]
    table = markdown(rows)
    print(table)
    command = command_line("backfill.py", bool(os.environ.get("LOOPGATE_TEST_POSTGRES_URL")), argv)
    if args.write_docs:
        lines = section_head(SECTION, command, ("sqlalchemy", "aiosqlite", "asyncpg", "pagerduty", "typer", "rich"))
        lines += [__doc__.split("\n\n", 1)[1].strip(), "", table, "",
                  "- `import` stores the inbox rows (what makes the history durable and resumable); `apply` is the "
                  "in-process job runner catching up afterwards: incidents, repeats and one Event Packet per resolved "
                  "incident (whose assembly reads PagerDuty again: `all requests`).",
                  "- With Redis, the command only imports and arq workers apply, in parallel with it.",
                  "- The machine is shared (other work ran at the same time): compare figures within one run."]
        write_docs("\n".join(lines) + "\n", SECTION)
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
