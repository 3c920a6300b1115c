"""Where the read-only reference corpus is: beside the clone (as CI lays it), else the developers' copy."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if (p / "corpus").is_dir()),
              ROOT.parent / "shared")
