"""Mutated volumes: never a traceback, never a hang; a volume that cannot be read is "unchecked" with
one sentence. Mutations are overlays on a reader (the image file itself is never written)."""

from __future__ import annotations

import random
import time

import pytest

from autoverify.checks.ntfs import check_ntfs, mft
from autoverify.checks.ntfs.boot import read_boot
from autoverify.readers import open_reader

N_MUTANTS = 200
PER_VOLUME_SECONDS = 20  # generous: the CPU is shared with appliances


class Mutant:
    """A reader over another one with some bytes replaced and maybe a shorter size."""

    def __init__(self, base, patches: dict[int, int], size: int) -> None:
        self._b, self._p, self.size = base, patches, size

    def pread(self, length: int, offset: int) -> bytes:
        if offset >= self.size or length <= 0:
            return b""
        data = bytearray(self._b.pread(min(length, self.size - offset), offset))
        for pos, val in self._p.items():
            if offset <= pos < offset + len(data):
                data[pos - offset] = val
        return bytes(data)


def hot_ranges(reader) -> list[tuple[int, int]]:
    """Where damage matters: boot sectors, the first MFT records, index blocks of the root."""
    geo = read_boot(reader).geometry
    layout, _ = mft.locate(reader, geo)
    mft_at = layout.runs[0][1] * geo.cluster_size
    return [(0, 512), (geo.total_sectors * geo.bytes_per_sector, 512),
            (mft_at, min(layout.n_records, 64) * geo.record_size),
            (geo.mftmirr_lcn * geo.cluster_size, 4 * geo.record_size)]


def mutate(rng: random.Random, reader, hot) -> Mutant:
    patches: dict[int, int] = {}
    for _ in range(rng.choice((1, 2, 4, 16, 64))):
        start, length = rng.choice(hot)
        patches[start + rng.randrange(length)] = rng.randrange(256)
    size = reader.size
    if rng.random() < 0.15:
        size = rng.choice((0, 100, 511, 4096, rng.randrange(reader.size)))
    return Mutant(reader, patches, size)


@pytest.fixture(scope="module")
def fuzz_images(corpus, small_image):
    return [corpus["clean__mkntfs_default"], small_image]


@pytest.mark.appliance
def test_fuzz_never_raises_nor_hangs(fuzz_images):
    rng = random.Random(20261126)
    statuses: dict[str, int] = {}
    slowest = 0.0
    for i in range(N_MUTANTS):
        image = fuzz_images[0] if i % 4 else fuzz_images[1]  # the populated volume is slower: 1 in 4
        with open_reader(str(image)) as r:
            m = mutate(rng, r, hot_ranges(r))
            t0 = time.monotonic()
            result = check_ntfs(m)
            took = time.monotonic() - t0
        slowest = max(slowest, took)
        assert took < PER_VOLUME_SECONDS, f"mutant {i} took {took:.1f} s"
        assert result.status in ("clean", "errors", "unchecked")
        assert not [f for f in result.findings if f.check == "ntfs.internal"], (i, result.findings)
        if result.status == "unchecked":
            assert len(result.findings) == 1 and result.findings[0].message.endswith(".")
        if m.size < 512:
            assert result.status == "unchecked"
        statuses[result.status] = statuses.get(result.status, 0) + 1
    assert statuses.get("errors", 0) > N_MUTANTS // 2, statuses
    assert statuses.get("unchecked", 0) > 0, statuses


def test_truncated_and_foreign_volumes_are_unchecked_with_a_sentence(corpus):
    with open_reader(str(corpus["clean__mkntfs_default"])) as r:
        for size, patches in ((0, {}), (300, {}), (r.size, {i: 0 for i in range(512)} | {
                r.size - 512 + i: 0 for i in range(512)})):
            result = check_ntfs(Mutant(r, patches, size))
            assert result.status == "unchecked"
            (f,) = result.findings
            assert f.check == "ntfs.unreadable" and f.message.endswith(".")


def _verdict(result):
    return result.status, sorted((f.check, f.message, f.record, f.path) for f in result.findings)


@pytest.mark.appliance
def test_vectorised_triage_agrees_with_the_record_walk(corpus, small_image):
    """The numpy fast path may only skip work, never change a verdict: same findings as walking every
    record in Python, on every corpus volume and on mutants of the populated one."""
    for image in [*corpus.values(), small_image]:
        with open_reader(str(image)) as r:
            assert _verdict(check_ntfs(r)) == _verdict(check_ntfs(r, fast=False)), image
    rng = random.Random(7)
    with open_reader(str(small_image)) as r:
        hot = hot_ranges(r)
        for _ in range(30):
            m = mutate(rng, r, hot)
            assert _verdict(check_ntfs(m)) == _verdict(check_ntfs(m, fast=False))


def test_read_errors_are_unchecked_not_corrupt(corpus):
    """An I/O error part-way (a bad block in the snapshot store) is 'cannot be read', not corruption."""

    class Failing(Mutant):
        def pread(self, length: int, offset: int) -> bytes:
            if offset >= 64 << 10:
                raise OSError(5, "Input/output error")
            return super().pread(length, offset)

    with open_reader(str(corpus["clean__mkntfs_default"])) as r:
        result = check_ntfs(Failing(r, {}, r.size))
    assert result.status == "unchecked"
    assert [f.message for f in result.findings] == ["The volume cannot be read: Input/output error."]
