"""`loopgate gate check`: ask a running Loopgate whether a postmortem may close or a service may deploy.

Exit 0 when the gate passes, 1 when it fails, 2 when the question could not be answered. The answer is
printed as text, JSON or a JUnit XML report (app/gates/report.py); errors always go to standard error.
"""

import os
import sys
from typing import TextIO
from urllib.parse import quote

import httpx

from app.gates.report import ReportFormat, Subject, render

PASSED, FAILED, ERROR = 0, 1, 2


def check(*, url: str | None, token: str | None, postmortem_id: str | None, service: str | None,
          report_format: ReportFormat = ReportFormat.text, out: TextIO | None = None, err: TextIO | None = None,
          timeout: float = 30.0) -> int:
    # The streams are looked up at call time, so that whoever runs the command may redirect them.
    out, err = out or sys.stdout, err or sys.stderr
    url = url or os.environ.get("LOOPGATE_URL")
    token = token or os.environ.get("LOOPGATE_TOKEN")
    if not url or not token:
        print("loopgate gate check: set --url and --token (or LOOPGATE_URL and LOOPGATE_TOKEN)", file=err)
        return ERROR
    if postmortem_id and not service:
        subject = Subject("postmortem", postmortem_id)
        path = f"/api/v1/gates/postmortems/{quote(postmortem_id, safe='')}"
    elif service and not postmortem_id:
        subject, path = Subject("service", service), f"/api/v1/gates/services/{quote(service, safe='')}"
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
    if not isinstance(body, dict) or not isinstance(body.get("passed"), bool):
        print(f"loopgate gate check: {subject}: the answer is not a gate result: {response.text[:200]}", file=err)
        return ERROR
    out.write(render(report_format, body, subject=subject, base_url=url))
    return PASSED if body["passed"] else FAILED
