// Parse Mermaid diagrams with the real Mermaid parser, in one Node process for many diagrams.
// Input on stdin: a JSON array of diagram texts. Output on stdout: a JSON array, one entry per
// diagram in the same order: {"ok": true, "type": "<diagram type>"} or {"ok": false, "error": "..."}.
// Mermaid expects a browser; jsdom gives it the window and document (DOMPurify needs them).
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["DOMParser", "Element", "HTMLElement", "Node", "SVGElement", "XMLSerializer"]) {
  globalThis[name] ??= dom.window[name];
}

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const diagrams = JSON.parse(input);

const results = [];
for (const text of diagrams) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
