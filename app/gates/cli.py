"""`loopgate gate check`: ask a running Loopgate whether a postmortem may close or a service may deploy.

Exit 0 when the gate passes, 1 when it fails, 2 when the question could not be answered.
"""

import os
import sys
from typing import Any, TextIO
from urllib.parse import quote

import httpx

PASSED, FAILED, ERROR = 0, 1, 2


def _print_findings(title: str, items: list[dict[str, Any]], out: TextIO) -> None:
    if not items:
        return
    print(f"{title}:", file=out)
    for item in items:
        ids = ", ".join(item.get("ids") or [])
        print(f"  - [{item['code']}] {item['message']}" + (f" ({ids})" if ids else ""), file=out)


def check(*, url: str | None, token: str | None, postmortem_id: str | None, service: str | None,
          out: TextIO = sys.stdout, err: TextIO = sys.stderr, timeout: float = 30.0) -> int:
    url = url or os.environ.get("LOOPGATE_URL")
    token = token or os.environ.get("LOOPGATE_TOKEN")
    if not url or not token:
        print("loopgate gate check: set --url and --token (or LOOPGATE_URL and LOOPGATE_TOKEN)", file=err)
        return ERROR
    if postmortem_id and not service:
        path, subject = f"/api/v1/gates/postmortems/{quote(postmortem_id, safe='')}", f"postmortem {postmortem_id}"
    elif service and not postmortem_id:
        path, subject = f"/api/v1/gates/services/{quote(service, safe='')}", f"service {service}"
    else:
        print("loopgate gate check: give a POSTMORTEM_ID or --service NAME", file=err)
        return ERROR
    try:
        response = httpx.get(url.rstrip("/") + path, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        print(f"loopgate gate check: cannot reach {url}: {exc}", file=err)
        return ERROR
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        message = body.get("message") if isinstance(body, dict) else None
        print(f"loopgate gate check: {subject}: HTTP {response.status_code}: {message or response.text[:200]}",
              file=err)
        return ERROR
    verdict = "PASSED" if body["passed"] else "FAILED"
    print(f"Gate {verdict} for {subject}", file=out)
    _print_findings("Violations", body.get("violations", []), out)
    _print_findings("Warnings", body.get("warnings", []), out)
    return PASSED if body["passed"] else FAILED
