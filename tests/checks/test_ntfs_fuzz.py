"""Mutated volumes: never a traceback, never a hang, never a memory blow-up; a volume that cannot be
read is "unchecked" with one sentence. Mutations (tests/checks/ntfs_mutate.py) are overlays on a
reader: the image file itself is never written. bench/ntfs_fuzz.py runs 10,000 of these cases."""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoverify.checks.ntfs import check_ntfs
from autoverify.models import CheckResult
from autoverify.readers import open_reader
from checks.ntfs_mutate import BytesReader, Mutant, Region, judge, mutate, regions, run_cases

DATA = Path(__file__).resolve().parent.parent / "data" / "ntfs"
CASE_SECONDS = 10  # per mutant; a clean check of these volumes takes milliseconds
GROWTH_MB = 512  # the peak RSS of this process may not grow by more over all the cases


class CaseTimeout(BaseException):
    """Raised by the alarm in a case that runs too long (not an Exception: the checker must not catch it)."""


@pytest.fixture(scope="module")
def mkntfs_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's clean mkntfs volume (10 MiB, 512-byte sectors), as shipped in tests/data."""
    dest = tmp_path_factory.mktemp("fuzz")
    subprocess.run(["tar", "-xSf", str(DATA / "clean__mkntfs_default.img.tar.xz"), "-C", str(dest)], check=True)
    image: Path = next(dest.glob("*.img"))
    return image


@pytest.fixture(scope="module")
def mkntfs_4k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second geometry built here: 4 KiB sectors and records, 64 KiB clusters."""
    image: Path = tmp_path_factory.mktemp("fuzz4k") / "v.img"
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", "-s", "4096", "-c", "65536", "-L", "fuzz", str(image)],
                   check=True, capture_output=True)
    return image


@pytest.fixture(scope="module")
def bases(mkntfs_default: Path, mkntfs_4k: Path) -> list[tuple[BytesReader, list[Region]]]:
    out = []
    for image in (mkntfs_default, mkntfs_4k):
        base = BytesReader(image.read_bytes())
        assert check_ntfs(base).status == "clean"
        out.append((base, regions(base)))
    return out


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise CaseTimeout


def test_mutants_end_in_a_verdict(bases: list[tuple[BytesReader, list[Region]]]) -> None:
    """A few hundred field-aware mutants, drawn (and, on failure, shrunk) by hypothesis."""
    seen: dict[str, int] = {}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    old = signal.signal(signal.SIGALRM, _alarm)

    @settings(max_examples=500, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 1), st.randoms(use_true_random=False))
    def case(which: int, rng: Any) -> None:
        base, targets = bases[which]
        m = mutate(rng, base, targets)
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        t0 = time.monotonic()
        try:
            result = check_ntfs(m)
        except CaseTimeout:
            raise AssertionError(f"a mutant took more than {CASE_SECONDS} s") from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        assert judge(result, m.size) is None, (judge(result, m.size), time.monotonic() - t0)
        seen[result.status] = seen.get(result.status, 0) + 1

    try:
        case()  # hypothesis supplies the arguments
    finally:
        signal.signal(signal.SIGALRM, old)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0 < GROWTH_MB
    assert seen.get("errors", 0) > 50 and seen.get("unchecked", 0) > 5 and seen.get("clean", 0) > 0, seen


def test_bounded_runner_reports_verdicts_and_hangs(mkntfs_default: Path) -> None:
    """The bench's runner: each case in a worker with limited memory; a slow case is a hang, not a wait."""
    out = run_cases(str(mkntfs_default), range(40), seed=3, timeout=30, memory_mb=1024)
    assert [o.case for o in out] == list(range(40))
    assert all(o.problem is None for o in out), [o for o in out if o.problem]
    assert {o.status for o in out} <= {"clean", "errors", "unchecked"}
    assert max(o.maxrss_mb for o in out) < 1024
    slow = run_cases(str(mkntfs_default), range(2), seed=3, timeout=1e-4)  # no worker starts that fast
    assert [o.status for o in slow] == ["hang", "hang"]


def test_truncated_and_foreign_volumes_are_unchecked_with_a_sentence(mkntfs_default: Path) -> None:
    with open_reader(str(mkntfs_default)) as r:
        wiped = [(0, bytes(512)), (r.size - 512, bytes(512))]
        for size, patches in ((0, []), (300, []), (r.size, wiped)):
            result = check_ntfs(Mutant(r, patches, size))
            assert result.status == "unchecked"
            (f,) = result.findings
            assert f.check == "ntfs.unreadable" and f.message.endswith(".")


def test_read_errors_are_unchecked_not_corrupt(mkntfs_default: Path) -> None:
    """An I/O error part-way (a bad block in the snapshot store) is 'cannot be read', not corruption."""

    class Failing(Mutant):
        def pread(self, length: int, offset: int) -> bytes:
            if offset >= 64 << 10:
                raise OSError(5, "Input/output error")
            return super().pread(length, offset)

    with open_reader(str(mkntfs_default)) as r:
        result = check_ntfs(Failing(r, [], r.size))
    assert result.status == "unchecked"
    assert [f.message for f in result.findings] == ["The volume cannot be read: Input/output error."]


def _verdict(result: CheckResult) -> tuple[str, list[tuple[str, str, int | None, str | None]]]:
    return result.status, sorted((f.check, f.message, f.record, f.path) for f in result.findings)


def test_fast_path_agrees_with_the_reference_on_mutants(bases: list[tuple[BytesReader, list[Region]]]) -> None:
    """The vectorised scan may only skip work, never change a verdict: on clean volumes and on mutants
    (no appliance needed), finding for finding the same as walking every record in Python."""
    import random

    rng = random.Random(11)
    for base, targets in bases:
        assert _verdict(check_ntfs(base)) == _verdict(check_ntfs(base, fast=False))
        for _ in range(60):
            m = mutate(rng, base, targets)
            assert _verdict(check_ntfs(m)) == _verdict(check_ntfs(m, fast=False))


def test_mutants_of_a_populated_volume(diverse_image: Path) -> None:
    """Mutants of the ntfs-3g volume with attribute lists, compressed, sparse and reparse-point files
    and a deep directory index: a verdict each, and the same one on the fast and the reference path."""
    import random

    rng = random.Random(5)
    with open_reader(str(diverse_image)) as r:
        targets = regions(r)
        assert {t.kind for t in targets} >= {"record", "attribute", "runlist", "index", "value", "boot"}
        for _ in range(80):
            m = mutate(rng, r, targets)
            fast = check_ntfs(m)
            assert judge(fast, m.size) is None, judge(fast, m.size)
            assert _verdict(fast) == _verdict(check_ntfs(m, fast=False))


@pytest.mark.appliance
def test_vectorised_triage_agrees_with_the_record_walk(corpus: dict[str, Path], small_image: Path) -> None:
    """The fast path may only skip work, never change a verdict: same findings as walking every
    record in Python, on every corpus volume and on mutants of the populated one."""
    import random

    for image in [*corpus.values(), small_image]:
        with open_reader(str(image)) as r:
            assert _verdict(check_ntfs(r)) == _verdict(check_ntfs(r, fast=False)), image
    rng = random.Random(7)
    with open_reader(str(small_image)) as r:
        targets = regions(r)
        for _ in range(60):
            m = mutate(rng, r, targets)
            assert _verdict(check_ntfs(m)) == _verdict(check_ntfs(m, fast=False))
