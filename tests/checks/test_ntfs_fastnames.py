"""The bulk name decoders of the fast path agree with `records.file_name`, byte for byte."""

from __future__ import annotations

import random
import struct

import numpy as np

from autoverify.checks.ntfs import indexes, records, scan


def _value(rng: random.Random, surrogates: bool) -> bytes:
    n = rng.randint(0, 12)
    units = [rng.choice([0x41, 0x7A, 0x00, 0xE9, 0x4E2D, 0xFFFD]) for _ in range(n)]
    if surrogates and n:
        units[rng.randrange(n)] = rng.choice([0xD800, 0xDBFF, 0xDC00, 0xDFFF])
    head = struct.pack("<Q32xQQII", rng.getrandbits(64), rng.getrandbits(32), rng.getrandbits(40),
                       rng.getrandbits(32), 0)
    ns = rng.choice([0, 1, 2, 3, 4])
    nlen = n if rng.random() < 0.9 else n + rng.randint(1, 3)
    return head + bytes([nlen, ns]) + struct.pack(f"<{n}H", *units) + bytes(rng.choice([0, 0, 6]))


def test_index_key_decoder_matches_file_name() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        v = _value(rng, rng.random() < 0.3)
        buf = bytearray(rng.randbytes(rng.randint(0, 9))) + v
        at = len(buf) - len(v)
        assert indexes._file_name_key(buf, at, len(v)) == records.file_name(v)


def test_bulk_file_names_match_file_name() -> None:
    rng = random.Random(11)
    for surrogates in (False, True):
        values = [_value(rng, surrogates and rng.random() < 0.2) for _ in range(400)]
        size = 1024
        arr = np.zeros((len(values), size), dtype=np.uint8)
        at, length = [], []
        for i, v in enumerate(values):
            ofs = rng.randrange(0, size - len(v) - 66) & ~7
            arr[i, ofs:ofs + len(v)] = np.frombuffer(v, dtype=np.uint8)
            at.append(i * size + ofs)
            length.append(len(v))
        got = scan._file_names(arr, np.array(at, dtype=np.int64), np.array(length, dtype=np.int64),
                               memoryview(arr.reshape(-1)))
        assert got == [records.file_name(v) for v in values]
