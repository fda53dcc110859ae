#!/usr/bin/env bash
# Draw Mermaid diagrams with the browser bundle of tools/mermaid and take a screenshot with headless Chromium
# (Debian's `chromium`; not needed by `make test`). Usage:
#   tools/mermaid/screenshot.sh OUT.png WIDTHxHEIGHT DIAGRAM.mmd [DIAGRAM.mmd ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1" size="$2"
shift 2
[ -f "$here/node_modules/mermaid/dist/mermaid.min.js" ] || { echo "run: npm ci --prefix tools/mermaid" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  echo '<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{font-family:sans-serif;margin:16px;background:#fff}'
  echo '.mermaid{margin-bottom:24px}</style></head><body>'
  for diagram in "$@"; do
    echo '<pre class="mermaid">'
    # The diagram as the text of the <pre>: HTML-escape it, as a Markdown renderer does for a code block.
    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' "$diagram"
    echo '</pre>'
  done
  echo "<script src=\"file://$here/node_modules/mermaid/dist/mermaid.min.js\"></script>"
  echo '<script>mermaid.initialize({startOnLoad: true, securityLevel: "strict"});</script></body></html>'
} > "$work/page.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/profile" --allow-file-access-from-files \
  --hide-scrollbars --window-size="${size/x/,}" --virtual-time-budget=15000 --screenshot="$out" \
  "file://$work/page.html" 2>"$work/chromium.log" || { cat "$work/chromium.log" >&2; exit 1; }
echo "wrote $out"
