"""Rendering time of the worst letter texts: the inputs that stalled the previous renderer
and others of their kind, each at the largest length a letter may have.

    python bench/markdown_worst.py          # one JSON line; `make bench` records it too

For each input: whether the limits accept it as a letter's text, the median time of an
uncached render as a page does it (sanitized HTML and the meta excerpt; a refused text is
timed too, as its plain-text fallback, since a stored one is still shown), and of the
delivery PDF's text blocks (made in a worker, not a request). The target is the slowest
accepted input's render under 100 ms.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 3


def inputs(limit: int) -> dict[str, str]:
    def fill(unit: str, tail: str = "") -> str:
        return (unit * (limit // len(unit) + 1))[: limit - len(tail)] + tail

    return {
        "[ repeated": fill("["),
        "[a repeated": fill("[a"),
        "[^1] repeated, one footnote": fill("[^1]", "\n\n[^1]: note"),
        "1. repeated": fill("1. "),
        "definition list lines": fill("a\n: b\n"),
        "> repeated": fill(">"),
        "* repeated": fill("*"),
        "_a repeated": fill("_a"),
        "*a repeated": fill("*a"),
        "a* repeated": fill("a*"),
        "*(* repeated": fill("*(*"),
        "`a repeated": fill("`a"),
        "``a` repeated": fill("``a`"),
        "nested list": "".join("  " * k + "- x\n" for k in range(200)),
        "[a]( then ( repeated": "[a](" + fill("(")[4:],
        "[a](( repeated, ) at the end": fill("[a]((", ")"),
        "[]( repeated": fill("[]("),
        "![ repeated": fill("!["),
        "table, many rows": "|a|b|\n|-|-|\n" + fill("|x|y|\n")[: limit - 20],
        "table, 3,000 rows": "|a|b|\n|-|-|\n" + "|x|y|\n" * 3000,
        "table, wide": "|" * (limit // 2 - 2) + "\n" + fill("|-")[: limit // 2 - 2],
        "&#x1 repeated": fill("&#x1"),
        "<a repeated": fill("<a"),
        '<a href=" repeated': fill('<a href="'),
        "<div> repeated": fill("<div>"),
        "<http:// repeated": fill("<http://"),
        "# a lines": fill("# a\n"),
        "setext headings": fill("a\n=\n"),
        "x paragraphs": fill("x\n\n"),
        "emphasis mix": fill("a*b_c**d__"),
        "plain words": fill("word "),
    }


def measure() -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from delivery.document import letter_blocks
    from letters import markdown

    rows = []
    for name, text in inputs(markdown.MARKDOWN_MAX_LENGTH).items():
        accepted = markdown.markdown_problem(text) is None
        render, pdf = [], []
        for _ in range(REPEAT):
            markdown._checked.cache_clear()
            start = time.perf_counter()
            markdown.render_markdown(text)
            markdown.markdown_excerpt(text)
            middle = time.perf_counter()
            letter_blocks(text)
            render.append((middle - start) * 1000)
            pdf.append((time.perf_counter() - middle) * 1000)
        rows.append(
            {
                "input": name,
                "chars": len(text),
                "accepted": accepted,
                "render_ms": round(statistics.median(render), 1),
                "pdf_blocks_ms": round(statistics.median(pdf), 1),
            }
        )
    return {
        "renderer": "cmark-gfm",
        "max_length": markdown.MARKDOWN_MAX_LENGTH,
        "max_accepted_render_ms": max(r["render_ms"] for r in rows if r["accepted"]),
        "max_any_render_ms": max(r["render_ms"] for r in rows),
        "max_pdf_blocks_ms": max(r["pdf_blocks_ms"] for r in rows),
        "inputs": rows,
    }


def measure_in_subprocess(timeout: float = 600) -> dict:
    """The same, in a fresh interpreter (so the bench's own process needs no Django)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure()))
