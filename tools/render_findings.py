"""Re-render docs/findings.md from the finding registry (autoverify/findings.py): `make docs`."""

from __future__ import annotations

from pathlib import Path

from autoverify.findings import render_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "findings.md"

if __name__ == "__main__":
    DOC.write_text(render_markdown() + "\n", encoding="utf-8")
    print(DOC)
