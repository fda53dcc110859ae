"""The real Mermaid parser (npm `mermaid` under jsdom, tools/mermaid/parse.mjs), many diagrams per Node process.

`make test` installs the npm packages (`npm ci --prefix tools/mermaid`). Without Node or without
them, a test that needs the parser fails with what to do: never a skip.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mermaid"
INSTALL = "make tools/mermaid/node_modules/.package-lock.json (npm ci --prefix tools/mermaid)"


def parse(*diagrams: str) -> list[dict]:
    """One result per diagram, in order: `{"ok": True, "type": ...}` or `{"ok": False, "error": ...}`."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("the Mermaid checks need Node.js (node) on PATH; install Node 20 or newer", pytrace=False)
    if not (TOOL / "node_modules" / "mermaid" / "package.json").is_file():
        pytest.fail(f"the Mermaid checks need the npm packages of tools/mermaid: run {INSTALL}", pytrace=False)
    done = subprocess.run([node, str(TOOL / "parse.mjs")], input=json.dumps(list(diagrams)), capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"tools/mermaid/parse.mjs exited {done.returncode}: {done.stderr[-2000:]}", pytrace=False)
    results: list[dict] = json.loads(done.stdout)
    assert len(results) == len(diagrams)
    return results


def assert_parse(*diagrams: str) -> list[str]:
    """Every diagram parses; returns their Mermaid diagram types."""
    results = parse(*diagrams)
    failures = [(text, result["error"]) for text, result in zip(diagrams, results, strict=True) if not result["ok"]]
    assert not failures, "\n\n".join(f"{error}\n--- in ---\n{text}" for text, error in failures)
    return [result["type"] for result in results]
