"""Every ```mermaid block in the README and docs/ parses with the real Mermaid parser, as GitHub would draw it."""

import re
from pathlib import Path

from tests.support.mermaid import assert_parse

ROOT = Path(__file__).resolve().parents[1]


def test_every_mermaid_block_in_the_docs_parses():
    blocks = [block for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
              for block in re.findall(r"^```mermaid\n(.*?)^```", path.read_text(), flags=re.S | re.M)]
    assert blocks, "the README has a package diagram"
    assert set(assert_parse(*blocks)) <= {"flowchart-v2", "timeline", "sequence", "stateDiagram"}
