"""aristos.cfg's ENABLE_CSV: the one reader inspection and the live audit share (docs/design.md)."""

from __future__ import annotations

import codecs

import pytest

from autoverify.agent_config import decode_config, enable_csv


@pytest.mark.parametrize(("text", "want"), [
    (None, None),  # no file: no agent
    ("", False),
    ("ENABLE_CSV=true", True),  # the documented line
    ("[agent]\r\nSERVER=bdr.example\r\nENABLE_CSV=true\r\n", True),
    ("enable_csv = TRUE", True),  # key and value in any case
    ("\t ENABLE_CSV\t=\ttrue \t\r\n", True),  # spaces and tabs around key, '=' and value
    ("\ufeffENABLE_CSV=true\n", True),  # a byte-order mark left by Notepad
    ("ENABLE_CSV=false", False),
    ("ENABLE_CSV=", False),
    ("ENABLE_CSV", False),
    ("ENABLE_CSV=1", False),
    ("ENABLE_CSV=yes", False),
    ("ENABLE_CSV=truee", False),
    ("ENABLE_CSV=true # csv on", False),  # nothing else on the line
    ("ENABLE_CSV=true;", False),
    ("ENABLE_CSV='true'", False),
    ("#ENABLE_CSV=true", False),  # commented out
    ("; ENABLE_CSV=true", False),
    ("XENABLE_CSV=true", False),
    ("ENABLE_CSV_X=true", False),
    ("ENABLE_CSV=true\nENABLE_CSV=false\n", False),  # the last assignment counts
    ("ENABLE_CSV=false\nENABLE_CSV=true\n", True),
    ("ENABLE_CSV=true\n#ENABLE_CSV=false\n", True),
])
def test_enable_csv(text, want):
    assert enable_csv(text) is want


@pytest.mark.parametrize(("data", "text"), [
    (b"ENABLE_CSV=true\r\n", "ENABLE_CSV=true\r\n"),
    (codecs.BOM_UTF8 + b"ENABLE_CSV=true", "ENABLE_CSV=true"),
    (codecs.BOM_UTF16_LE + "ENABLE_CSV=true".encode("utf-16-le"), "ENABLE_CSV=true"),
    (codecs.BOM_UTF16_BE + "ENABLE_CSV=true".encode("utf-16-be"), "ENABLE_CSV=true"),
    (b"ENABLE_CSV=\xfftrue", "ENABLE_CSV=\ufffdtrue"),  # not UTF-8: replaced, never an exception
])
def test_decode_config(data, text):
    assert decode_config(data) == text
