"""The shared corpus: every corrupt__ volume exits 4, both clean__ volumes exit 0 with no finding,
and the images are not changed by the check (hashes before and after)."""

from __future__ import annotations

import json

import pytest

from autoverify.cli.main import main
from checks.conftest import CORPUS
from checks.ntfs_patch import sparse_sha256

NAMES = sorted(p.name.removesuffix(".img.tar.xz") for p in CORPUS.glob("*.tar.xz"))


def test_corpus_is_there():
    assert len([n for n in NAMES if n.startswith("corrupt__")]) == 24
    assert len([n for n in NAMES if n.startswith("clean__")]) == 2


@pytest.mark.parametrize("name", NAMES)
def test_corpus_verdict(corpus, name, capsys):
    image = corpus[name]
    before = sparse_sha256(image) if name.startswith("clean__") else None
    code = main(["chkdsk", str(image), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"status", "findings", "stats"} and set(out["stats"]) == {"mft_records", "seconds"}
    if name.startswith("clean__"):
        assert (code, out["status"], out["findings"]) == (0, "clean", [])
        assert sparse_sha256(image) == before
    else:
        assert (code, out["status"]) == (4, "errors")
        assert out["findings"] and all(set(f) == {"check", "severity", "record", "path", "message"}
                                       for f in out["findings"])
