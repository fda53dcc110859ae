"""The baseline for bench/ingest.py: the same route on FastAPI, doing nothing but reading the body.

It reads the whole request body (as Loopgate must, to verify the signature) and
answers 202 `{"status":"accepted"}`: no signature check, no JSON parsing, no
storage, no middleware. Loopgate's rate divided by this one is "the ratio to
the baseline" in docs/benchmarks.md.

    uvicorn --app-dir bench noop_app:app
"""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(title="noop baseline", openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/webhooks/pagerduty", status_code=202)
async def receive_pagerduty(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "accepted"}, status_code=202)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
