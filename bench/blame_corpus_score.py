"""Score the blame lint against the labelled corpus in tests/postmortems/blame_corpus.py.

Usage: python bench/blame_corpus_score.py [--verbose]   (--verbose lists every miss)
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from app.postmortems.blame import lint_blame  # noqa: E402


def main(verbose: bool = False) -> None:
    corpus = runpy.run_path(str(ROOT / "tests" / "postmortems" / "blame_corpus.py"))["CORPUS"]
    tp = fp = fn = tn = 0
    misses = []
    for sentence, blameful in corpus:
        issues = lint_blame(sentence)
        flagged = bool(issues)
        tp += flagged and blameful
        fp += flagged and not blameful
        fn += blameful and not flagged
        tn += not blameful and not flagged
        if flagged != blameful:
            label = "FP" if flagged else "FN"
            misses.append(f"  {label} {sentence} {[issue.indicator for issue in issues]}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"sentences {len(corpus)} (blameful {tp + fn}, neutral {fp + tn})")
    print(f"TP {tp}  FP {fp}  FN {fn}  TN {tn}")
    print(f"precision {precision:.3f}  recall {recall:.3f}")
    if verbose:
        print("misses:", *misses, sep="\n")


if __name__ == "__main__":
    main(verbose="--verbose" in sys.argv[1:])
