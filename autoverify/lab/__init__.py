"""The sample cluster lab: a deterministic snapshot store of a 3-node cluster plus a legacy one.

`build_lab(dir)` writes DIR/store/<NODE>/<snapshot>/ and DIR/manifest.json (the truth);
see docs/design.md "Lab scenario" and "manifest.json".
"""

from autoverify.lab.builder import BUILDER_VERSION, build_lab, is_complete

__all__ = ["BUILDER_VERSION", "build_lab", "is_complete"]
