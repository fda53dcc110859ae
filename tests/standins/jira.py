"""A stand-in Jira REST server for tests, over a real socket.

It speaks the subset of the Jira Cloud / Data Center REST API that the
``jira`` package (``jira.JIRA``, 3.10.x) calls on the paths Loopgate uses, so
the real client code (``ResilientSession``, ``requests``, ``urllib3``) runs
end to end against it.

Transport: ``http.server.ThreadingHTTPServer`` in a background thread on
127.0.0.1, random port, plain HTTP/1.1 with keep-alive; every answer carries
``Content-Length`` (204 too, with 0).

Usage::

    with JiraStandIn() as jira_srv:
        client = jira.JIRA(server=jira_srv.url, basic_auth=(jira_srv.email, jira_srv.api_token),
                           max_retries=0, timeout=5)
        ...

Modes: ``deployment_type="Cloud"`` (default) or ``"Server"`` (what Data
Center reports in ``serverInfo``).  The mode decides how ``jira.JIRA`` searches
(see "Search" below).

Auth: ``Authorization: Basic`` with ``(email, api_token)`` (Cloud style; any
pair in ``basic_credentials``) or ``Authorization: Bearer <pat>`` (Data Center
PAT; any token in ``bearer_tokens``).  Both are accepted in both modes.
Without credentials only ``GET serverInfo`` answers (as on real Jira); wrong
credentials get 401 everywhere, with ``X-Seraph-LoginReason: AUTHENTICATED_FAILED``.

Endpoints (``{v}`` is ``2`` or ``latest``; ``3`` too in Cloud mode; v3 takes and
returns ``description`` as an Atlassian Document, v2 as a plain string):

- ``GET /rest/api/{v}/serverInfo`` (``versionNumbers``, ``deploymentType``)
- ``GET /rest/api/{v}/myself``, ``GET /rest/auth/1/session`` (``validate=True``)
- ``GET /rest/api/{v}/field`` (the client loads it before searching, to map
  JQL clause names to field ids), ``priority``, ``priority/{id}``,
  ``issuetype``, ``resolution``, ``status``, ``project``, ``project/{idOrKey}``
  (``expand=issueTypes``)
- ``POST /rest/api/{v}/issue`` -> 201 ``{"id","key","self"}``;
  ``POST /rest/api/{v}/issue/bulk`` -> 201 / 400 ``{"issues","errors"}``
- ``GET|PUT|DELETE /rest/api/{v}/issue/{idOrKey}`` (GET honours ``fields``;
  PUT takes ``fields`` and ``update.labels`` add/remove/set; 404 body
  ``{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}``)
- ``GET|POST /rest/api/{v}/issue/{k}/transitions`` (To Do 11, In Progress 21,
  Done 31; the transition to the current status is not offered; moving to
  Done sets ``resolution`` (``fields.resolution`` or "Done") and leaving Done
  clears it)
- ``GET|POST|DELETE /rest/api/{v}/issue/{k}/remotelink[?globalId=]`` (POST with
  a known ``globalId`` updates that link: 200, else 201),
  ``GET|PUT|DELETE /rest/api/{v}/issue/{k}/remotelink/{id}``
- ``GET /rest/api/{v}/issue/{k}/properties``,
  ``GET|PUT|DELETE /rest/api/{v}/issue/{k}/properties/{propertyKey}``
  (``properties`` on create are stored too)
- Search.  ``JIRA.search_issues`` on a *Cloud* server (``deploymentType ==
  "Cloud"``) delegates to ``enhanced_search_issues`` which calls
  ``GET /rest/api/2/search/jql`` (``POST`` with ``use_post=True``) with
  ``nextPageToken`` paging (``isLast``, no ``total``).  On *Server* it calls
  ``GET /rest/api/2/search`` (``POST`` with ``use_post``) with
  ``startAt``/``maxResults``/``total``.  As on the real products the old
  ``/search`` answers 410 in Cloud mode and ``/search/jql`` 404 in Server mode.
  ``reconcileIssues`` (ids) on ``/search/jql`` bypasses the search lag, as the
  real API promises read-after-write for those.
- ``GET /rest/applinks/latest/listApplicationlinks`` -> ``[]``
  (``JIRA.add_remote_link`` calls it first).

JQL supported (anything else answers 400 and is recorded in ``unhandled``):
``clause [AND clause]* [ORDER BY field [ASC|DESC][, ...]]`` where a clause is
``field op value`` or ``field [not] in (v1, v2, ...)``; values are bare words
or quoted strings.  Fields: ``labels`` (=, !=, in, not in), ``key``/``issuekey``
(=, !=, in, not in; an unknown key is a 400 "An issue with key 'X' does not
exist for field 'key'." as on real Jira, unless ``validateQuery=false|warn`` on
the v2 ``/search``, which then answers ``warningMessages``), ``project``,
``status``, ``statusCategory`` (name, key or id), ``updated``/``created``
(=, !=, >, >=, <, <= against ``"yyyy-MM-dd HH:mm"``, ``"yyyy/MM/dd HH:mm"``,
``"yyyy-MM-dd"``, ``"yyyy/MM/dd"`` in ``jql_timezone`` (UTC), or relative
``-15m``/``-2h``/``-1d``/``-1w``).  No OR, no functions.  Without ORDER BY the
order is newest issue first.  On ``/search/jql`` a query without any clause is
rejected as unbounded (400), as on Cloud.

State helpers: ``issues`` (key -> stored issue dict), ``remote_links`` (key ->
list), ``properties`` (key -> {prop: value}), ``count_issues(label=None)``,
``get_issue(key)``, ``set_status(key, category, resolution=None)``,
``set_updated(key, when)``, ``delete_issue(key)``, ``search_lag_seconds``
(a created issue is invisible to search for that long; ``catch_up_search()`` ends it), ``request_log`` (list
of ``RecordedRequest``), ``requests_to(method, path_regex)``, ``unhandled``
(requests the stand-in could not serve), ``server_errors`` (tracebacks from
the stand-in itself), ``clock`` (callable returning an aware UTC datetime; used
for created/updated), ``reset()``.

Failure knobs (thread-safe, each consumed by the requests it hits):
``fail_next_create(status=500, count=1)`` (nothing is created),
``drop_after_create(count=1)`` (the issue IS created, then the connection is
closed without an answer: the client sees a ``requests.ConnectionError``),
``rate_limit_next(count=1, retry_after=1, method=None, path=None)`` (429 with
``Retry-After``), the generic ``fail_next(status, count, method, path)`` and
``drop_after(count, method, path)`` (``path`` is a regex that must match the
whole request path), and ``latency_seconds`` (sleep before every answer).

How the client treats these with ``max_retries=0``: ``ResilientSession``
makes exactly one attempt; a 429/503 is never slept on or retried (the
recoverable check is only reached while ``retry_number <= max_retries``), so
the caller gets ``JIRAError(status_code=429)`` at once, with the
``Retry-After`` header on ``err.response.headers``; a dropped connection is
re-raised as the bare ``requests.exceptions.ConnectionError``.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["JiraStandIn", "RecordedRequest", "NOT_FOUND_MESSAGE"]

NOT_FOUND_MESSAGE = "Issue does not exist or you do not have permission to see it."

_STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# category key -> (status id, status name)
_STATUSES = {"new": ("10000", "To Do"), "indeterminate": ("3", "In Progress"), "done": ("10001", "Done")}
# transition id, name, target category
_TRANSITIONS = [("11", "To Do", "new"), ("21", "In Progress", "indeterminate"), ("31", "Done", "done")]
_PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
_ISSUE_TYPES = [("10001", "Task", False), ("10002", "Bug", False), ("10003", "Story", False),
                ("10004", "Epic", False), ("10005", "Sub-task", True)]
_RESOLUTIONS = [("10000", "Done"), ("10001", "Won't Do"), ("10002", "Duplicate"), ("10003", "Cannot Reproduce"),
                ("10004", "Won't Fix"), ("10005", "Declined")]
_CREATE_FIELDS = {"summary", "description", "labels", "priority", "duedate", "project", "issuetype",
                  "assignee", "reporter"}
_EDIT_FIELDS = {"summary", "description", "labels", "priority", "duedate", "assignee"}
_CREATE_PATH = r"/rest/api/(?:2|3|latest)/issue(?:/bulk)?/?"
_UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
_SEARCH_GONE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
_DATE_HELP = ("Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
              "or a period format e.g. '-5d', '4w 2d'.")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _jira_ts(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _parse_jira_ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def _adf(text: str) -> dict:
    paragraphs = [p for p in text.split("\n")] if text else []
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": p}] if p else []} for p in paragraphs]}


def _adf_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        parts = [_adf_text(c) for c in node.get("content", []) or []]
        sep = "\n" if node.get("type") == "doc" else ""
        return sep.join(parts)
    return ""


class _ApiError(Exception):
    def __init__(self, status: int, messages: list[str] | None = None, errors: dict | None = None,
                 warn: str | None = None):
        super().__init__(status, messages, errors)
        self.status = status
        self.body = {"errorMessages": list(messages or []), "errors": dict(errors or {})}
        self.unhandled = warn


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # parsed JSON when possible, else the raw text, None when empty
    auth: str | None  # "basic:<user>", "bearer", "invalid" or None
    at: float = field(default_factory=time.time)
    status: int | None = None
    dropped: bool = False


@dataclass
class _Rule:
    count: int
    method: str | None
    path: str | None
    status: int = 500
    retry_after: int | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.fullmatch(self.path, path) is not None


class _Response:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.drop = False


# ---------------------------------------------------------------------------- JQL

_TOKEN_RE = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|=|>|<|~)|"""
                       r"""(?P<punct>[(),])|(?P<word>[^\s"'(),=!<>~]+))""")


@dataclass
class _Clause:
    field: str
    op: str  # = != > >= < <= in notin
    values: list[str]


def _tokenize(jql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(jql, pos)
        if not m or m.end() == pos:
            raise _ApiError(400, [f"Error in the JQL Query: unexpected character at position {pos}."])
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            tokens.append(("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            tokens.append(("op", m.group("op")))
        elif m.group("punct") is not None:
            tokens.append(("punct", m.group("punct")))
        else:
            tokens.append(("word", m.group("word")))
    return tokens


def _parse_jql(jql: str) -> tuple[list[_Clause], list[tuple[str, bool]]]:
    """Parse the supported JQL subset into clauses (ANDed) and an ORDER BY list."""
    toks = _tokenize(jql)
    i = 0
    clauses: list[_Clause] = []
    order: list[tuple[str, bool]] = []

    def peek(k: int = 0) -> tuple[str, str] | None:
        return toks[i + k] if i + k < len(toks) else None

    def unsupported(why: str) -> _ApiError:
        return _ApiError(400, [f"Error in the JQL Query: {why} (JiraStandIn supports only "
                               f"'field op value [AND ...] [ORDER BY ...]')."], warn=f"unsupported JQL: {jql!r}")

    def word_is(tok: tuple[str, str] | None, *words: str) -> bool:
        return tok is not None and tok[0] == "word" and tok[1].lower() in words

    while i < len(toks):
        tok = peek()
        if word_is(tok, "order") and word_is(peek(1), "by"):
            i += 2
            while True:
                f = peek()
                if f is None or f[0] not in ("word", "str"):
                    raise unsupported("expected a field after ORDER BY")
                i += 1
                desc = False
                if word_is(peek(), "asc", "desc"):
                    desc = peek()[1].lower() == "desc"  # type: ignore[index]
                    i += 1
                order.append((f[1].lower(), desc))
                if peek() == ("punct", ","):
                    i += 1
                    continue
                break
            if i != len(toks):
                raise unsupported("unexpected input after ORDER BY")
            break
        if clauses:
            if not word_is(tok, "and"):
                raise unsupported(f"unsupported operator {tok[1]!r}" if tok else "incomplete query")
            i += 1
            tok = peek()
        if tok is None or tok[0] not in ("word", "str"):
            raise unsupported("expected a field name")
        fname = tok[1].lower()
        i += 1
        op_tok = peek()
        if op_tok is None:
            raise unsupported("expected an operator")
        if op_tok[0] == "op" and op_tok[1] != "~":
            op = op_tok[1]
            i += 1
            val = peek()
            if val is None or val[0] not in ("word", "str"):
                raise unsupported("expected a value")
            i += 1
            clauses.append(_Clause(fname, op, [val[1]]))
            continue
        if word_is(op_tok, "in") or (word_is(op_tok, "not") and word_is(peek(1), "in")):
            op = "in" if word_is(op_tok, "in") else "notin"
            i += 1 if op == "in" else 2
            if peek() != ("punct", "("):
                raise unsupported("expected '(' after IN")
            i += 1
            values: list[str] = []
            while True:
                val = peek()
                if val is None or val[0] not in ("word", "str"):
                    raise unsupported("expected a value in the list")
                values.append(val[1])
                i += 1
                nxt = peek()
                if nxt == ("punct", ","):
                    i += 1
                    continue
                if nxt == ("punct", ")"):
                    i += 1
                    break
                raise unsupported("expected ',' or ')'")
            clauses.append(_Clause(fname, op, values))
            continue
        raise unsupported(f"unsupported operator {op_tok[1]!r}")
    return clauses, order


_REL_RE = re.compile(r"^([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.I)


def _parse_jql_date(value: str, fname: str, now: datetime, tz: tzinfo) -> datetime:
    v = value.strip()
    m = _REL_RE.match(v)
    if m:
        delta = timedelta()
        for n, unit in re.findall(r"(\d+)\s*([wdhm])", m.group(2), re.I):
            delta += {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
                      "m": timedelta(minutes=1)}[unit.lower()] * int(n)
        return now - delta if m.group(1) == "-" else now + delta
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(v, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    raise _ApiError(400, [f"Date value '{value}' for field '{fname}' is invalid. {_DATE_HELP}"])


# ---------------------------------------------------------------------------- HTTP plumbing

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, addr: tuple[str, int], handler: type, standin: JiraStandIn):
        self.standin = standin
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):  # type: ignore[override]
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[override]
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, OSError)):
            return  # a client that hung up, or stop() closing idle keep-alive connections
        self.standin.server_errors.append(f"{client_address}\n{traceback.format_exc()}")

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "JiraStandIn/1.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        standin = self.server.standin
        resp = standin._handle(method, self.path, dict(self.headers.items()), raw)
        if resp.drop:
            # The request was processed; the answer is lost: close without a byte.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = b"" if resp.body is None else json.dumps(resp.body).encode()
        self.send_response(resp.status)
        if resp.body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        # One write for head and body (no Nagle/delayed-ACK stall between them).
        self._headers_buffer.append(b"\r\n" + payload)
        try:
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True


# ---------------------------------------------------------------------------- the stand-in

class JiraStandIn:
    """A small, stateful Jira for tests.  See the module docstring."""

    def __init__(
        self,
        *,
        deployment_type: str = "Cloud",
        project_key: str = "OPS",
        projects: dict[str, str] | None = None,
        email: str = "loopgate-bot@example.com",
        api_token: str = "cloud-api-token",
        pat: str = "dc-personal-access-token",
        search_lag_seconds: float = 0.0,
        latency_seconds: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        jql_timezone: tzinfo = timezone.utc,
    ) -> None:
        if deployment_type.lower() in ("server", "datacenter", "data center", "dc"):
            deployment_type = "Server"
        elif deployment_type.lower() == "cloud":
            deployment_type = "Cloud"
        else:
            raise ValueError("deployment_type must be 'Cloud' or 'Server'")
        self.deployment_type = deployment_type
        self.email = email
        self.api_token = api_token
        self.pat = pat
        self.basic_credentials: set[tuple[str, str]] = {(email, api_token)}
        self.bearer_tokens: set[str] = {pat}
        # key -> name; ids are assigned 10000, 10001, ...
        names = projects or {project_key: "Operations"}
        self.projects: dict[str, dict[str, str]] = {
            k: {"id": str(10000 + n), "key": k, "name": v} for n, (k, v) in enumerate(names.items())}
        self.project_key = next(iter(self.projects))
        self.search_lag_seconds = search_lag_seconds
        self.latency_seconds = latency_seconds
        self._knobs = (search_lag_seconds, latency_seconds)  # what reset() goes back to
        self.clock: Callable[[], datetime] = clock or _utcnow
        self.jql_timezone = jql_timezone

        self._lock = threading.RLock()
        self.issues: dict[str, dict[str, Any]] = {}
        self.remote_links: dict[str, list[dict[str, Any]]] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self._visible_at: dict[str, float] = {}
        self._next_issue_id = 10000
        self._next_number: dict[str, int] = {}
        self._next_link_id = 10000
        self._rate_limits: list[_Rule] = []
        self._failures: list[_Rule] = []
        self._drops: list[_Rule] = []
        self.request_log: list[RecordedRequest] = []
        self.unhandled: list[str] = []
        self.server_errors: list[str] = []

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> JiraStandIn:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        host, port = self._server.server_address[:2]
        self._url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="jira-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> JiraStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("JiraStandIn is not started")
        return self._url

    # ------------------------------------------------------------------ knobs
    def fail_next_create(self, status: int = 500, count: int = 1) -> None:
        """The next ``count`` creates (single or bulk) answer ``status``; nothing is created."""
        self.fail_next(status=status, count=count, method="POST", path=_CREATE_PATH)

    def drop_after_create(self, count: int = 1) -> None:
        """The next ``count`` creates succeed, then the connection closes without an answer."""
        self.drop_after(count=count, method="POST", path=_CREATE_PATH)

    def rate_limit_next(self, count: int = 1, retry_after: int = 1, method: str | None = None,
                        path: str | None = None) -> None:
        """The next ``count`` matching authenticated requests answer 429 with ``Retry-After``."""
        with self._lock:
            self._rate_limits.append(_Rule(count, method, path, 429, retry_after))

    def fail_next(self, status: int = 500, count: int = 1, method: str | None = None,
                  path: str | None = None) -> None:
        """The next ``count`` matching authenticated requests answer ``status`` without side effects."""
        with self._lock:
            self._failures.append(_Rule(count, method, path, status))

    def drop_after(self, count: int = 1, method: str | None = None, path: str | None = None) -> None:
        """The next ``count`` matching requests are processed, then the connection closes unanswered."""
        with self._lock:
            self._drops.append(_Rule(count, method, path))

    def reset(self) -> None:
        """Forget every issue, link, knob and logged request (numbering restarts too)."""
        with self._lock:
            self.search_lag_seconds, self.latency_seconds = self._knobs
            self.issues.clear()
            self.remote_links.clear()
            self.properties.clear()
            self._visible_at.clear()
            self._next_issue_id = 10000
            self._next_number.clear()
            self._rate_limits.clear()
            self._failures.clear()
            self._drops.clear()
            self.request_log.clear()
            self.unhandled.clear()
            self.server_errors.clear()

    # ------------------------------------------------------------------ state helpers
    def count_issues(self, label: str | None = None) -> int:
        with self._lock:
            return sum(1 for i in self.issues.values() if label is None or label in i["fields"]["labels"])

    def catch_up_search(self) -> None:
        """The search index catches up: every issue created so far is searchable now (ends ``search_lag_seconds``)."""
        with self._lock:
            self._visible_at.clear()

    def get_issue(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            issue = self._find_issue(key)
            return copy.deepcopy(issue) if issue else None

    def set_status(self, key: str, category: str, resolution: str | None = None) -> None:
        """Move an issue to the status of ``category`` (new/indeterminate/done), as a person in Jira would."""
        with self._lock:
            issue = self._require(key)
            self._apply_status(issue, category, resolution)

    def set_updated(self, key: str, when: datetime) -> None:
        with self._lock:
            self._require(key)["fields"]["updated"] = _jira_ts(when)

    def delete_issue(self, key: str) -> None:
        with self._lock:
            issue = self._require(key)
            self._delete(issue)

    def requests_to(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Logged requests whose method equals ``method`` and whose path fully matches the regex ``path``."""
        with self._lock:
            return [r for r in self.request_log
                    if (method is None or r.method == method.upper())
                    and (path is None or re.fullmatch(path, r.path))]

    # ------------------------------------------------------------------ internals: state
    def _require(self, key: str) -> dict[str, Any]:
        issue = self._find_issue(key)
        if issue is None:
            raise KeyError(key)
        return issue

    def _find_issue(self, id_or_key: str) -> dict[str, Any] | None:
        issue = self.issues.get(id_or_key) or self.issues.get(id_or_key.upper())
        if issue is not None:
            return issue
        for candidate in self.issues.values():
            if candidate["id"] == id_or_key:
                return candidate
        return None

    def _delete(self, issue: dict[str, Any]) -> None:
        key = issue["key"]
        self.issues.pop(key, None)
        self.remote_links.pop(key, None)
        self.properties.pop(key, None)
        self._visible_at.pop(key, None)

    def _apply_status(self, issue: dict[str, Any], category: str, resolution: str | None) -> None:
        if category not in _STATUSES:
            raise ValueError(f"unknown status category {category!r}")
        f = issue["fields"]
        now = self.clock()
        old = f["status"]["statusCategory"]["key"]
        sid, name = _STATUSES[category]
        f["status"] = {"id": sid, "name": name, "description": "",
                       "statusCategory": dict(_STATUS_CATEGORIES[category])}
        if category == "done":
            res = self._resolution(resolution or "Done")
            if res is None:
                raise ValueError(f"unknown resolution {resolution!r}")
            f["resolution"] = res
            f["resolutiondate"] = _jira_ts(now)
        else:
            f["resolution"] = None
            f["resolutiondate"] = None
        if old != category:
            f["statuscategorychangedate"] = _jira_ts(now)
        f["updated"] = _jira_ts(now)

    @staticmethod
    def _resolution(name_or_id: str) -> dict[str, str] | None:
        for rid, name in _RESOLUTIONS:
            if name_or_id in (rid, name) or name_or_id.lower() == name.lower():
                return {"id": rid, "name": name, "description": ""}
        return None

    # ------------------------------------------------------------------ internals: request handling
    def _handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> _Response:
        latency = self.latency_seconds
        if latency:
            time.sleep(latency)
        parts = urlsplit(raw_path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        body: Any = None
        body_error = False
        if raw_body:
            text = raw_body.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body, body_error = text, True
        auth = self._auth(headers)
        rec = RecordedRequest(method, path, query, headers, body, auth)
        with self._lock:
            self.request_log.append(rec)
        try:
            resp = self._handle_inner(method, path, query, headers, body, body_error, auth)
        except _ApiError as e:
            if e.unhandled:
                with self._lock:
                    self.unhandled.append(f"{method} {raw_path}: {e.unhandled}")
            resp = _Response(e.status, e.body)
        except Exception:  # a bug in the stand-in: answer 500 and keep the traceback for the test
            tb = traceback.format_exc()
            with self._lock:
                self.server_errors.append(f"{method} {raw_path}\n{tb}")
            resp = _Response(500, {"errorMessages": ["JiraStandIn internal error"], "errors": {}})
        rec.status = resp.status
        if 200 <= resp.status < 300:
            with self._lock:
                for rule in self._drops:
                    if rule.count > 0 and rule.matches(method, path):
                        rule.count -= 1
                        resp.drop = True
                        rec.dropped = True
                        break
                self._drops = [r for r in self._drops if r.count > 0]
        return resp

    def _auth(self, headers: dict[str, str]) -> str | None:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if not value:
            return None
        scheme, _, cred = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, pw = base64.b64decode(cred.strip()).decode().partition(":")
            except Exception:
                return "invalid"
            return f"basic:{user}" if (user, pw) in self.basic_credentials else "invalid"
        if scheme.lower() == "bearer":
            return "bearer" if cred.strip() in self.bearer_tokens else "invalid"
        return "invalid"

    def _take(self, rules: list[_Rule], method: str, path: str) -> _Rule | None:
        with self._lock:
            for rule in rules:
                if rule.count > 0 and rule.matches(method, path):
                    rule.count -= 1
                    rules[:] = [r for r in rules if r.count > 0]
                    return rule
        return None

    def _handle_inner(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
                      body: Any, body_error: bool, auth: str | None) -> _Response:
        m = re.fullmatch(r"/rest/api/(2|3|latest)/(.*?)/?", path)
        is_server_info = bool(m and m.group(2) == "serverInfo" and method == "GET")
        if auth == "invalid" or (auth is None and not is_server_info):
            return _Response(401, {"errorMessages": ["You are not authenticated. Authentication required "
                                                     "to perform this operation."], "errors": {}},
                             {"WWW-Authenticate": 'Basic realm="protected-area"',
                              "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})
        rule = self._take(self._rate_limits, method, path)
        if rule is not None:
            return _Response(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                             {"Retry-After": str(rule.retry_after), "RateLimit-Reason": "jira-burst-based",
                              "X-RateLimit-Reset": _jira_ts(self.clock() + timedelta(seconds=rule.retry_after or 0))})
        rule = self._take(self._failures, method, path)
        if rule is not None:
            text = {500: "Internal server error", 502: "Bad Gateway", 503: "Service Unavailable",
                    504: "Gateway Timeout"}.get(rule.status, f"Error {rule.status}")
            return _Response(rule.status, {"errorMessages": [text], "errors": {}})
        if method in ("POST", "PUT") and body is not None:
            ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
            if "json" not in ctype.lower():
                return _Response(415, {"errorMessages": ["Unsupported Media Type"], "errors": {}})
        if body_error:
            raise _ApiError(400, ["Unexpected character: the request body is not valid JSON."])

        if path.rstrip("/") == "/rest/auth/1/session" and method == "GET":
            return _Response(200, {"self": f"{self.url}/rest/api/2/myself", "name": self._user()["displayName"],
                                   "loginInfo": {"failedLoginCount": 0, "loginCount": 1}})
        if path.rstrip("/") == "/rest/applinks/latest/listApplicationlinks" and method == "GET":
            return _Response(200, [])
        if m is None:
            raise _ApiError(404, [f"No REST endpoint at {path}"], warn="unknown path")
        version, sub = m.group(1), m.group(2)
        if version == "latest":
            version = "2"
        if version == "3" and self.deployment_type != "Cloud":
            raise _ApiError(404, ["null for uri: " + path], warn="REST v3 on a Server stand-in")
        return self._route(method, version, sub, query, body)

    def _route(self, method: str, v: str, sub: str, query: dict[str, list[str]], body: Any) -> _Response:
        q1 = {k: vals[-1] for k, vals in query.items()}
        simple_gets: dict[str, Callable[[], Any]] = {
            "serverInfo": self._server_info,
            "myself": self._user,
            "field": self._fields,
            "priority": lambda: [self._priority(pid, name) for pid, name in _PRIORITIES],
            "issuetype": lambda: [self._issue_type(*t) for t in _ISSUE_TYPES],
            "resolution": lambda: [dict(self._resolution(rid) or {}, self=self._api(f"resolution/{rid}"))
                                   for rid, _ in _RESOLUTIONS],
            "status": lambda: [self._status_json(c) for c in _STATUSES],
            "project": lambda: [self._project_json(p, "") for p in self.projects.values()],
        }
        if sub in simple_gets:
            if method != "GET":
                return _Response(405, None)
            return _Response(200, simple_gets[sub]())
        if m := re.fullmatch(r"priority/([^/]+)", sub):
            for pid, name in _PRIORITIES:
                if m.group(1) == pid:
                    return _Response(200, self._priority(pid, name))
            raise _ApiError(404, [f"The priority with id '{m.group(1)}' does not exist."])
        if m := re.fullmatch(r"project/([^/]+)", sub):
            with self._lock:
                proj = self._project(unquote(m.group(1)))
            if proj is None:
                raise _ApiError(404, [f"No project could be found with key '{m.group(1)}'."])
            return _Response(200, self._project_json(proj, q1.get("expand", "")))
        if sub == "issue":
            if method != "POST":
                return _Response(405, None)
            return self._create(v, body)
        if sub == "issue/bulk":
            if method != "POST":
                return _Response(405, None)
            return self._bulk_create(v, body)
        if sub in ("search", "search/jql"):
            if method not in ("GET", "POST"):
                return _Response(405, None)
            params = body if method == "POST" else self._search_params_from_query(query)
            if not isinstance(params, dict):
                raise _ApiError(400, ["The search request body must be a JSON object."])
            if sub == "search":
                if self.deployment_type == "Cloud":
                    raise _ApiError(410, [_SEARCH_GONE])
                return self._search_v2(v, params)
            if self.deployment_type != "Cloud":
                raise _ApiError(404, ["null for uri: /rest/api/2/search/jql"], warn="search/jql on a Server stand-in")
            return self._search_jql(v, params)
        if m := re.fullmatch(r"issue/([^/]+)(?:/(.*))?", sub):
            key, rest = unquote(m.group(1)), m.group(2) or ""
            with self._lock:
                issue = self._find_issue(key)
                if issue is None:
                    raise _ApiError(404, [NOT_FOUND_MESSAGE])
                if rest == "":
                    return self._issue_endpoint(method, v, issue, query, body)
                if rest == "transitions":
                    return self._transitions(method, v, issue, q1, body)
                if rest == "remotelink":
                    return self._remotelinks(method, v, issue, q1, body)
                if lm := re.fullmatch(r"remotelink/([^/]+)", rest):
                    return self._remotelink(method, v, issue, unquote(lm.group(1)), body)
                if rest == "properties":
                    if method != "GET":
                        return _Response(405, None)
                    props = self.properties.get(issue["key"], {})
                    return _Response(200, {"keys": [
                        {"self": self._api(f"issue/{issue['id']}/properties/{k}", v), "key": k} for k in props]})
                if pm := re.fullmatch(r"properties/([^/]+)", rest):
                    return self._property(method, issue, unquote(pm.group(1)), body)
        raise _ApiError(404, [f"No REST endpoint at /rest/api/{v}/{sub}"], warn="unknown path")

    # ------------------------------------------------------------------ JSON builders
    def _api(self, sub: str, v: str = "2") -> str:
        return f"{self.url}/rest/api/{v}/{sub}"

    def _server_info(self) -> dict[str, Any]:
        cloud = self.deployment_type == "Cloud"
        version = [1001, 0, 0] if cloud else [9, 12, 15]
        return {
            "baseUrl": self.url,
            "displayUrl": self.url,
            "version": ("1001.0.0-SNAPSHOT" if cloud else "9.12.15"),
            "versionNumbers": version,
            "deploymentType": self.deployment_type,
            "buildNumber": 100280 if cloud else 9120015,
            "buildDate": "2026-11-01T00:00:00.000+0000",
            "serverTime": _jira_ts(self.clock()),
            "scmInfo": "0" * 40,
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": "Etc/UTC",
        }

    def _user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"self": self._api("myself"), "emailAddress": self.email,
                                "displayName": "Loopgate Bot", "active": True, "timeZone": "Etc/UTC"}
        if self.deployment_type == "Cloud":
            user.update(accountId="5b10ac8d82e05b22cc7d4ef5", accountType="atlassian")
        else:
            user.update(name="loopgate-bot", key="JIRAUSER10100")
        return user

    def _fields(self) -> list[dict[str, Any]]:
        def fld(fid: str, name: str, clauses: list[str], typ: str, **extra: Any) -> dict[str, Any]:
            return {"id": fid, "key": fid, "name": name, "custom": False, "orderable": True, "navigable": True,
                    "searchable": True, "clauseNames": clauses, "schema": {"type": typ, "system": fid}, **extra}
        return [
            fld("issuekey", "Key", ["id", "issue", "issuekey", "key"], "string"),
            fld("summary", "Summary", ["summary"], "string"),
            fld("description", "Description", ["description"], "string"),
            fld("labels", "Labels", ["labels"], "array"),
            fld("priority", "Priority", ["priority"], "priority"),
            fld("duedate", "Due date", ["due", "duedate"], "date"),
            fld("project", "Project", ["project"], "project"),
            fld("issuetype", "Issue Type", ["issuetype", "type"], "issuetype"),
            fld("status", "Status", ["status"], "status"),
            fld("statusCategory", "Status Category", ["statusCategory"], "statusCategory"),
            fld("resolution", "Resolution", ["resolution"], "resolution"),
            fld("resolutiondate", "Resolved", ["resolutiondate", "resolved"], "datetime"),
            fld("created", "Created", ["created", "createdDate"], "datetime"),
            fld("updated", "Updated", ["updated", "updatedDate"], "datetime"),
            fld("assignee", "Assignee", ["assignee"], "user"),
            fld("reporter", "Reporter", ["reporter"], "user"),
        ]

    def _priority(self, pid: str, name: str) -> dict[str, Any]:
        return {"self": self._api(f"priority/{pid}"), "id": pid, "name": name, "statusColor": "#ff0000",
                "description": name, "iconUrl": f"{self.url}/images/icons/priorities/{name.lower()}.svg"}

    def _issue_type(self, tid: str, name: str, subtask: bool) -> dict[str, Any]:
        return {"self": self._api(f"issuetype/{tid}"), "id": tid, "name": name, "description": name,
                "subtask": subtask, "hierarchyLevel": -1 if subtask else 0,
                "iconUrl": f"{self.url}/images/icons/issuetypes/{name.lower()}.svg"}

    def _status_json(self, category: str) -> dict[str, Any]:
        sid, name = _STATUSES[category]
        return {"self": self._api(f"status/{sid}"), "id": sid, "name": name, "description": "",
                "statusCategory": dict(_STATUS_CATEGORIES[category])}

    def _project(self, id_or_key: str) -> dict[str, str] | None:
        for proj in self.projects.values():
            if id_or_key in (proj["id"], proj["key"]) or id_or_key.upper() == proj["key"]:
                return proj
        return None

    def _project_json(self, proj: dict[str, str], expand: str) -> dict[str, Any]:
        out: dict[str, Any] = {"self": self._api(f"project/{proj['id']}"), "id": proj["id"], "key": proj["key"],
                               "name": proj["name"], "projectTypeKey": "software", "simplified": False}
        if "issueTypes" in expand or "issuetypes" in expand.lower():
            out["issueTypes"] = [self._issue_type(*t) for t in _ISSUE_TYPES]
        return out

    def _render_issue(self, issue: dict[str, Any], v: str, fields_filter: list[str] | None) -> dict[str, Any]:
        f = copy.deepcopy(issue["fields"])
        desc = f.get("description")
        if v == "3" and isinstance(desc, str):
            f["description"] = _adf(desc)
        elif v != "3" and isinstance(desc, dict):
            f["description"] = _adf_text(desc)
        if fields_filter is not None:
            f = self._filter_fields(f, fields_filter)
        return {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                "id": issue["id"], "self": self._api(f"issue/{issue['id']}", v), "key": issue["key"], "fields": f}

    @staticmethod
    def _filter_fields(f: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
        wanted = [w.strip() for w in wanted if w and w.strip()]
        include_all = any(w in ("*all", "*navigable") for w in wanted)
        excluded = {w[1:] for w in wanted if w.startswith("-")}
        named = {w for w in wanted if not w.startswith(("-", "*"))}
        if "statusCategory" in named and "status" in f:
            f["statusCategory"] = f["status"]["statusCategory"]
        return {k: val for k, val in f.items() if (include_all or k in named) and k not in excluded}

    # ------------------------------------------------------------------ issues
    def _validate_fields(self, fields: Any, v: str, *, creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
        """Check and normalise issue fields; answer (normalised, errors)."""
        if not isinstance(fields, dict):
            raise _ApiError(400, ["The request must contain 'fields'."])
        out: dict[str, Any] = {}
        errors: dict[str, str] = {}
        allowed = _CREATE_FIELDS if creating else _EDIT_FIELDS
        for name in fields:
            if name not in allowed:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if creating or "project" in fields:
            p = fields.get("project")
            proj = None
            if isinstance(p, dict):
                proj = self._project(str(p.get("key") or p.get("id") or ""))
            if proj is None:
                errors["project"] = "valid project is required"
            else:
                out["project"] = self._project_json(proj, "")
        if creating or "issuetype" in fields:
            t = fields.get("issuetype")
            found = None
            if isinstance(t, dict):
                want = str(t.get("id") or t.get("name") or "")
                found = next((it for it in _ISSUE_TYPES if want in (it[0], it[1])), None)
            if found is None:
                errors["issuetype"] = "Specify an issue type"
            else:
                out["issuetype"] = self._issue_type(*found)
        if creating or "summary" in fields:
            s = fields.get("summary")
            if not isinstance(s, str) or not s.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif len(s) > 255:
                errors["summary"] = "Summary must be less than 255 characters."
            else:
                out["summary"] = s
        if "description" in fields:
            d = fields["description"]
            if d is None:
                out["description"] = None
            elif v == "3":
                if isinstance(d, dict) and d.get("type") == "doc":
                    out["description"] = d
                else:
                    errors["description"] = ("Operation value must be an Atlassian Document "
                                             "(see the Atlassian Document Format)")
            elif isinstance(d, str):
                out["description"] = d
            else:
                errors["description"] = "Operation value must be a string"
        elif creating:
            out["description"] = None
        if "labels" in fields or creating:
            labels = fields.get("labels", [])
            if labels is None:
                labels = []
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                errors["labels"] = "Operation value must be an array of strings"
            else:
                bad = self._bad_label(labels)
                if bad:
                    errors["labels"] = bad
                else:
                    out["labels"] = list(dict.fromkeys(labels))
        if "priority" in fields or creating:
            pr = fields.get("priority")
            if pr is None and creating:
                out["priority"] = self._priority("3", "Medium")
            else:
                found_p = None
                if isinstance(pr, dict):
                    want = str(pr.get("id") or pr.get("name") or "")
                    found_p = next((p for p in _PRIORITIES if want in p), None)
                if found_p is None:
                    errors["priority"] = f"Priority name '{(pr or {}).get('name') if isinstance(pr, dict) else pr}' is not valid"
                else:
                    out["priority"] = self._priority(*found_p)
        if "duedate" in fields or creating:
            dd = fields.get("duedate")
            if dd is None:
                out["duedate"] = None
            else:
                try:
                    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(dd)):
                        raise ValueError(dd)
                    out["duedate"] = date.fromisoformat(str(dd)).isoformat()
                except ValueError:
                    errors["duedate"] = f"Error parsing date string: {dd}"
        for person in ("assignee", "reporter"):
            if person in fields:
                val = fields[person]
                if val is not None and not isinstance(val, dict):
                    errors[person] = f"Specify a valid value for {person}"
                else:
                    out[person] = val
        return out, errors

    @staticmethod
    def _bad_label(labels: list[str]) -> str | None:
        for label in labels:
            if not label or re.search(r"\s", label):
                return f"The label '{label}' contains spaces which is invalid."
            if len(label) > 255:
                return "The label must not exceed 255 characters."
        return None

    def _new_issue(self, v: str, payload: Any) -> dict[str, Any]:
        """Validate and store one issue (under the lock); raise _ApiError(400) on invalid input."""
        if not isinstance(payload, dict):
            raise _ApiError(400, ["The request body must be a JSON object."])
        normal, errors = self._validate_fields(payload.get("fields"), v, creating=True)
        props = payload.get("properties") or []
        if not isinstance(props, list) or not all(isinstance(p, dict) and "key" in p for p in props):
            errors["properties"] = "Properties must be a list of {key, value}."
        if errors:
            raise _ApiError(400, [], errors)
        now = self.clock()
        with self._lock:
            proj_key = normal["project"]["key"]
            num = self._next_number.get(proj_key, 0) + 1
            self._next_number[proj_key] = num
            iid = str(self._next_issue_id)
            self._next_issue_id += 1
            key = f"{proj_key}-{num}"
            fields = {
                "summary": normal["summary"],
                "description": normal.get("description"),
                "labels": normal.get("labels", []),
                "priority": normal["priority"],
                "duedate": normal.get("duedate"),
                "project": normal["project"],
                "issuetype": normal["issuetype"],
                "assignee": normal.get("assignee"),
                "reporter": normal.get("reporter") or self._user(),
                "status": {},
                "resolution": None,
                "resolutiondate": None,
                "created": _jira_ts(now),
                "updated": _jira_ts(now),
                "statuscategorychangedate": _jira_ts(now),
            }
            sid, name = _STATUSES["new"]
            fields["status"] = {"id": sid, "name": name, "description": "",
                                "statusCategory": dict(_STATUS_CATEGORIES["new"])}
            issue = {"id": iid, "key": key, "fields": fields}
            self.issues[key] = issue
            self.remote_links[key] = []
            self.properties[key] = {p["key"]: p.get("value") for p in props}
            self._visible_at[key] = time.monotonic() + float(self.search_lag_seconds or 0)
        return issue

    def _create(self, v: str, body: Any) -> _Response:
        issue = self._new_issue(v, body)
        return _Response(201, {"id": issue["id"], "key": issue["key"], "self": self._api(f"issue/{issue['id']}", v)})

    def _bulk_create(self, v: str, body: Any) -> _Response:
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list):
            raise _ApiError(400, ["The request must contain 'issueUpdates'."])
        if len(updates) > 50:
            raise _ApiError(400, ["The number of issues to create exceeds the limit of 50."])
        created, errors = [], []
        for n, upd in enumerate(updates):
            try:
                issue = self._new_issue(v, upd)
            except _ApiError as e:
                errors.append({"status": e.status, "failedElementNumber": n, "elementErrors": e.body})
            else:
                created.append({"id": issue["id"], "key": issue["key"], "self": self._api(f"issue/{issue['id']}", v)})
        return _Response(201 if created else 400, {"issues": created, "errors": errors})

    def _issue_endpoint(self, method: str, v: str, issue: dict[str, Any], query: dict[str, list[str]],
                        body: Any) -> _Response:
        if method == "GET":
            wanted = self._list_param(query.get("fields"))
            return _Response(200, self._render_issue(issue, v, wanted if wanted else None))
        if method == "DELETE":
            self._delete(issue)
            return _Response(204, None)
        if method == "PUT":
            if not isinstance(body, dict):
                raise _ApiError(400, ["The request body must be a JSON object."])
            normal, errors = self._validate_fields(body.get("fields") or {}, v, creating=False)
            labels = list(normal.get("labels", issue["fields"]["labels"]))
            for name, ops in (body.get("update") or {}).items():
                if name != "labels" or not isinstance(ops, list):
                    errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                    continue
                for op in ops:
                    if "add" in op and op["add"] not in labels:
                        labels.append(op["add"])
                    elif "remove" in op:
                        labels = [x for x in labels if x != op["remove"]]
                    elif "set" in op:
                        labels = list(op["set"] or [])
                bad = self._bad_label(labels)
                if bad:
                    errors["labels"] = bad
            if errors:
                raise _ApiError(400, [], errors)
            issue["fields"].update(normal)
            issue["fields"]["labels"] = labels
            issue["fields"]["updated"] = _jira_ts(self.clock())
            return _Response(204, None)
        return _Response(405, None)

    # ------------------------------------------------------------------ transitions
    def _transition_json(self, tid: str, name: str, category: str) -> dict[str, Any]:
        return {"id": tid, "name": name, "to": self._status_json(category), "hasScreen": False, "isGlobal": True,
                "isInitial": False, "isAvailable": True, "isConditional": False, "isLooped": False}

    def _transitions(self, method: str, v: str, issue: dict[str, Any], q1: dict[str, str], body: Any) -> _Response:
        current = issue["fields"]["status"]["statusCategory"]["key"]
        available = [t for t in _TRANSITIONS if t[2] != current]
        if method == "GET":
            if q1.get("transitionId"):
                available = [t for t in available if t[0] == q1["transitionId"]]
            return _Response(200, {"expand": "transitions", "transitions": [self._transition_json(*t) for t in available]})
        if method != "POST":
            return _Response(405, None)
        if not isinstance(body, dict) or not isinstance(body.get("transition"), dict):
            raise _ApiError(400, ["Missing 'transition' identifier"])
        tid = str(body["transition"].get("id") or "")
        target = next((t for t in available if t[0] == tid), None)
        if target is None:
            raise _ApiError(400, [f"Transition id '{tid}' is not valid for this issue."])
        fields = body.get("fields") or {}
        errors = {k: f"Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
                  for k in fields if k != "resolution"}
        resolution = None
        if "resolution" in fields:
            r = fields["resolution"] or {}
            resolution = str(r.get("name") or r.get("id") or "") if isinstance(r, dict) else ""
            if target[2] != "done" or self._resolution(resolution) is None:
                errors["resolution"] = "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            raise _ApiError(400, [], errors)
        self._apply_status(issue, target[2], resolution)
        return _Response(204, None)

    # ------------------------------------------------------------------ remote links
    def _link_json(self, issue: dict[str, Any], link: dict[str, Any], v: str) -> dict[str, Any]:
        out = copy.deepcopy(link)
        out["self"] = self._api(f"issue/{issue['key']}/remotelink/{link['id']}", v)
        out.setdefault("application", {})
        return out

    def _link_payload(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(400, ["The request body must be a JSON object."])
        obj = body.get("object")
        errors = {}
        if not isinstance(obj, dict):
            errors["object"] = "'object' is required."
        else:
            if not obj.get("url"):
                errors["url"] = "'url' is required."
            if not obj.get("title"):
                errors["title"] = "'title' is required."
        if errors:
            raise _ApiError(400, [], errors)
        return {k: copy.deepcopy(body[k]) for k in ("globalId", "application", "relationship", "object") if k in body}

    def _remotelinks(self, method: str, v: str, issue: dict[str, Any], q1: dict[str, str], body: Any) -> _Response:
        links = self.remote_links.setdefault(issue["key"], [])
        gid = q1.get("globalId")
        if method == "GET":
            if gid is not None:
                link = next((x for x in links if x.get("globalId") == gid), None)
                if link is None:
                    raise _ApiError(404, ["No remote link with the given globalId was found."])
                return _Response(200, self._link_json(issue, link, v))
            return _Response(200, [self._link_json(issue, x, v) for x in links])
        if method == "POST":
            payload = self._link_payload(body)
            if payload.get("globalId"):
                existing = next((x for x in links if x.get("globalId") == payload["globalId"]), None)
                if existing is not None:
                    for k in ("application", "relationship", "object"):
                        existing.pop(k, None)
                    existing.update(payload)
                    return _Response(200, {"id": existing["id"], "self": self._link_json(issue, existing, v)["self"]})
            link = {"id": self._next_link_id, **payload}
            self._next_link_id += 1
            links.append(link)
            return _Response(201, {"id": link["id"], "self": self._link_json(issue, link, v)["self"]})
        if method == "DELETE":
            if gid is None:
                raise _ApiError(400, ["Either a globalId or a link id is required."])
            before = len(links)
            links[:] = [x for x in links if x.get("globalId") != gid]
            if len(links) == before:
                raise _ApiError(404, ["No remote link with the given globalId was found."])
            return _Response(204, None)
        return _Response(405, None)

    def _remotelink(self, method: str, v: str, issue: dict[str, Any], lid: str, body: Any) -> _Response:
        links = self.remote_links.setdefault(issue["key"], [])
        link = next((x for x in links if str(x["id"]) == lid), None)
        if link is None:
            raise _ApiError(404, [f"No remote link with id '{lid}' was found."])
        if method == "GET":
            return _Response(200, self._link_json(issue, link, v))
        if method == "PUT":
            payload = self._link_payload(body)
            for k in ("globalId", "application", "relationship", "object"):
                link.pop(k, None)
            link.update(payload)
            return _Response(204, None)
        if method == "DELETE":
            links.remove(link)
            return _Response(204, None)
        return _Response(405, None)

    # ------------------------------------------------------------------ properties
    def _property(self, method: str, issue: dict[str, Any], prop: str, body: Any) -> _Response:
        props = self.properties.setdefault(issue["key"], {})
        if method == "GET":
            if prop not in props:
                raise _ApiError(404, [f"The property with key '{prop}' does not exist."])
            return _Response(200, {"key": prop, "value": copy.deepcopy(props[prop])})
        if method == "PUT":
            if len(prop) > 255 or len(json.dumps(body)) > 32768:
                raise _ApiError(400, ["The property key or value is too long."])
            status = 200 if prop in props else 201
            props[prop] = copy.deepcopy(body)
            return _Response(status, None)
        if method == "DELETE":
            if props.pop(prop, _MISSING) is _MISSING:
                raise _ApiError(404, [f"The property with key '{prop}' does not exist."])
            return _Response(204, None)
        return _Response(405, None)

    # ------------------------------------------------------------------ search
    @staticmethod
    def _list_param(values: Any) -> list[str]:
        if values is None:
            return []
        if isinstance(values, str):
            values = [values]
        out: list[str] = []
        for v in values:
            if v is None:
                continue
            out.extend(x.strip() for x in str(v).split(",") if x.strip())
        return out

    @staticmethod
    def _search_params_from_query(query: dict[str, list[str]]) -> dict[str, Any]:
        params: dict[str, Any] = {k: vals[-1] for k, vals in query.items()}
        for multi in ("fields", "reconcileIssues", "properties"):
            if multi in query:
                params[multi] = query[multi]
        return params

    def _run_jql(self, jql: str, *, strict_keys: bool, reconcile: set[str], bounded: bool
                 ) -> tuple[list[dict[str, Any]], list[str]]:
        clauses, order = _parse_jql(jql or "")
        if bounded and not clauses:
            raise _ApiError(400, [_UNBOUNDED])
        warnings: list[str] = []
        now = self.clock()
        tz = self.jql_timezone
        mono = time.monotonic()
        with self._lock:
            known_keys = {k.upper() for k in self.issues}
            preds: list[Callable[[dict[str, Any]], bool]] = []
            for c in clauses:
                preds.append(self._predicate(c, known_keys, strict_keys, warnings, now, tz))
            hits = [i for i in self.issues.values()
                    if (self._visible_at.get(i["key"], 0) <= mono or i["id"] in reconcile)
                    and all(p(i) for p in preds)]
            hits = copy.deepcopy(hits)
        hits.sort(key=lambda i: int(i["id"]), reverse=True)
        for fname, desc in reversed(order):
            hits.sort(key=self._sort_key(fname), reverse=desc)
        return hits, warnings

    @staticmethod
    def _sort_key(fname: str) -> Callable[[dict[str, Any]], Any]:
        if fname in ("key", "issuekey", "id"):
            return lambda i: int(i["id"])
        if fname in ("updated", "created", "duedate"):
            return lambda i: i["fields"].get(fname) or ""
        if fname == "priority":
            return lambda i: int(i["fields"]["priority"]["id"])
        if fname == "status":
            return lambda i: i["fields"]["status"]["name"]
        raise _ApiError(400, [f"Not able to sort using field '{fname}'."], warn=f"unsupported ORDER BY {fname}")

    def _predicate(self, c: _Clause, known_keys: set[str], strict_keys: bool, warnings: list[str],
                   now: datetime, tz: tzinfo) -> Callable[[dict[str, Any]], bool]:
        fname, op, values = c.field, c.op, c.values
        unsupported = _ApiError(400, [f"Error in the JQL Query: operator '{op}' is not supported for field "
                                      f"'{fname}' by JiraStandIn."], warn=f"unsupported JQL clause {c}")

        def set_op(get: Callable[[dict[str, Any]], set[str]], wanted: set[str]) -> Callable[[dict[str, Any]], bool]:
            if op in ("=", "in"):
                return lambda i: bool(get(i) & wanted)
            if op in ("!=", "notin"):
                return lambda i: bool(get(i)) and not (get(i) & wanted)
            raise unsupported

        if fname == "labels":
            return set_op(lambda i: set(i["fields"]["labels"]), set(values))
        if fname in ("key", "issuekey", "issue", "id"):
            wanted = set()
            for val in values:
                up = val.upper()
                if not re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+|\d+", up):
                    raise _ApiError(400, [f"The issue key '{val}' for field '{fname}' is invalid."])
                if up.isdigit():
                    match = next((i["key"] for i in self.issues.values() if i["id"] == up), None)
                    if match:
                        up = match.upper()
                if up not in known_keys:
                    msg = f"An issue with key '{val}' does not exist for field '{fname}'."
                    if strict_keys:
                        raise _ApiError(400, [msg])
                    warnings.append(msg)
                wanted.add(up)
            return set_op(lambda i: {i["key"].upper()}, wanted)
        if fname == "project":
            wanted = set()
            for val in values:
                proj = self._project(val) or next((p for p in self.projects.values()
                                                   if p["name"].lower() == val.lower()), None)
                if proj is None:
                    raise _ApiError(400, [f"The value '{val}' does not exist for the field 'project'."])
                wanted.add(proj["key"])
            return set_op(lambda i: {i["fields"]["project"]["key"]}, wanted)
        if fname == "status":
            names = {n.lower() for _, n in _STATUSES.values()}
            for val in values:
                if val.lower() not in names and val not in {s for s, _ in _STATUSES.values()}:
                    raise _ApiError(400, [f"The value '{val}' does not exist for the field 'status'."])
            wanted = {val.lower() for val in values}
            return set_op(lambda i: {i["fields"]["status"]["name"].lower(), i["fields"]["status"]["id"]}, wanted)
        if fname == "statuscategory":
            wanted = set()
            for val in values:
                cat = next((k for k, sc in _STATUS_CATEGORIES.items()
                            if val.lower() in (k, sc["name"].lower(), str(sc["id"]))), None)
                if cat is None:
                    raise _ApiError(400, [f"The value '{val}' does not exist for the field 'statusCategory'."])
                wanted.add(cat)
            return set_op(lambda i: {i["fields"]["status"]["statusCategory"]["key"]}, wanted)
        if fname in ("updated", "created", "updateddate", "createddate"):
            col = "updated" if fname.startswith("updated") else "created"
            if op not in ("=", "!=", ">", ">=", "<", "<=") or len(values) != 1:
                raise unsupported
            bound = _parse_jql_date(values[0], fname, now, tz)
            cmp = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
                   ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}[op]
            return lambda i: cmp(_parse_jira_ts(i["fields"][col]), bound)
        raise _ApiError(400, [f"Field '{fname}' does not exist or you do not have permission to view it."],
                        warn=f"unsupported JQL field {fname}")

    def _page_size(self, params: dict[str, Any], default: int = 50) -> int:
        try:
            size = int(params.get("maxResults") if params.get("maxResults") is not None else default)
        except (TypeError, ValueError):
            raise _ApiError(400, ["maxResults must be a number."]) from None
        return max(0, min(size, 100))

    def _search_v2(self, v: str, params: dict[str, Any]) -> _Response:
        validate = str(params.get("validateQuery", "true")).lower()
        strict = validate not in ("false", "warn", "none")
        hits, warnings = self._run_jql(str(params.get("jql") or ""), strict_keys=strict, reconcile=set(),
                                       bounded=False)
        try:
            start = int(params.get("startAt") or 0)
        except (TypeError, ValueError):
            raise _ApiError(400, ["startAt must be a number."]) from None
        size = self._page_size(params)
        wanted = self._list_param(params.get("fields")) or ["*navigable"]
        page = hits[start:start + size]
        out: dict[str, Any] = {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(hits),
                               "issues": [self._render_issue(i, v, wanted) for i in page]}
        if warnings:
            out["warningMessages"] = warnings
        return _Response(200, out)

    def _search_jql(self, v: str, params: dict[str, Any]) -> _Response:
        reconcile = {str(x) for x in self._list_param(params.get("reconcileIssues"))}
        hits, _ = self._run_jql(str(params.get("jql") or ""), strict_keys=True, reconcile=reconcile, bounded=True)
        token = params.get("nextPageToken")
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(str(token).encode()).decode().removeprefix("offset:"))
            except Exception:
                raise _ApiError(400, ["The provided next page token is invalid or expired."]) from None
        size = self._page_size(params)
        wanted = self._list_param(params.get("fields"))
        page = hits[start:start + size]
        if not wanted or wanted == ["id"]:
            issues = [{"id": i["id"]} for i in page]
        else:
            issues = [self._render_issue(i, v, wanted) for i in page]
        out: dict[str, Any] = {"issues": issues}
        if start + size < len(hits):
            out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
            out["isLast"] = False
        else:
            out["isLast"] = True
        return _Response(200, out)


_MISSING = object()
