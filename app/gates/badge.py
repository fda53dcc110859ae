"""A gate's answer as a small SVG badge (`deploy gate | passing`, `postmortem gate | 2 violations`) for
READMEs and dashboards, in the flat style people know from shields.io.

Pure: the label, the gate result and a title in, SVG text out. Every text is XML-escaped; widths
come from Verdana 11px advance widths, so the badge fits its words without a font at hand.
"""

from html import escape

from app.gates.rules import GateResult

PASSING, FAILING, LABEL = "#2e7d32", "#c62828", "#555"  # white text on each: contrast above 4.5

# Advance widths of Verdana at 11px, by character class; anything else counts as a wide letter.
_WIDTHS = {
    **dict.fromkeys("iljI.,:;!'|", 3.4), **dict.fromkeys("ftr()[] -/", 4.6),
    **dict.fromkeys("abcdeghknopqsuvxyz0123456789", 6.9), **dict.fromkeys("mwMW", 10.6),
}
_DEFAULT_WIDTH = 7.8
PADDING = 6


def text_width(text: str) -> float:
    """The approximate width of `text` in Verdana 11px."""
    return sum(_WIDTHS.get(char, _DEFAULT_WIDTH) for char in text)


def message(result: GateResult) -> str:
    """`passing`, `1 violation` or `N violations` (warnings do not block, so they do not count)."""
    count = len(result.violations)
    if result.passed:
        return "passing"
    return f"{count} violation{'' if count == 1 else 's'}"


def badge_svg(*, label: str, result: GateResult, subject: str) -> str:
    """The badge; `subject` (what the gate is about) goes into its title, which readers see on hover."""
    words = message(result)
    left = round(text_width(label) + 2 * PADDING)
    right = round(text_width(words) + 2 * PADDING)
    width = left + right
    colour = PASSING if result.passed else FAILING
    title = escape(f"{label} for {subject}: {words}", quote=True)
    label_text, words_text = escape(label), escape(words)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="shine" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="round"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#round)"><rect width="{left}" height="20" fill="{LABEL}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#shine)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="15" fill="#010101" fill-opacity=".3">{label_text}</text>'
        f'<text x="{left / 2}" y="14">{label_text}</text>'
        f'<text x="{left + right / 2}" y="15" fill="#010101" fill-opacity=".3">{words_text}</text>'
        f'<text x="{left + right / 2}" y="14">{words_text}</text></g></svg>\n'
    )
