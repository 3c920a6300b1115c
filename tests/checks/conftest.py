"""Fixtures of the NTFS checker tests: one populated volume (built once per cache key, through ONE
appliance) and private copies of it to patch."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from checks.ntfs_patch import Volume
from checks.ntfs_volumes import SMALL, build, copy_image

CACHE = Path(os.environ.get("AUTOVERIFY_TEST_CACHE", "/var/tmp/autoverify-test-cache"))
CORPUS = Path(__file__).resolve().parents[1] / "data" / "ntfs"  # a copy of the reference corpus


@pytest.fixture(scope="session")
def small_image() -> Path:
    """The cached clean populated volume (never written by tests: they copy it)."""
    return build(SMALL, CACHE)


@pytest.fixture
def volume_copy(small_image: Path, tmp_path: Path):
    """A factory: a private patchable copy of the clean volume, as a `Volume`."""
    def make() -> Volume:
        return Volume(copy_image(small_image, tmp_path / "volume.img"))
    return make


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """The shared corpus volumes, extracted (sparse) once per session: name -> image path."""
    if not CORPUS.is_dir():
        pytest.fail(f"the reference corpus {CORPUS} is missing")
    out = {}
    root = tmp_path_factory.mktemp("corpus")
    for tarball in sorted(CORPUS.glob("*.tar.xz")):
        name = tarball.name.removesuffix(".img.tar.xz")
        dest = root / name
        dest.mkdir()
        subprocess.run(["tar", "-xSf", str(tarball), "-C", str(dest)], check=True)
        with tarfile.open(tarball) as tf:
            member = next(m for m in tf.getmembers() if m.isfile())
        out[name] = dest / member.name
    return out


@pytest.fixture(scope="session")
def diverse_image() -> Path:
    """Compressed, sparse, many-stream, reparse-point and big-directory structures (host ntfs-3g)."""
    from checks.ntfs_volumes import DIVERSE, build_on_host

    return build_on_host(DIVERSE, CACHE)


@pytest.fixture(scope="session")
def realistic_image() -> Path:
    """Files and directories spread over extent records by non-resident attribute lists (host ntfs-3g)."""
    from checks.ntfs_volumes import REALISTIC, build_on_host

    return build_on_host(REALISTIC, CACHE)
