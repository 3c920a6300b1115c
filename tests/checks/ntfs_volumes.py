"""Build populated NTFS test volumes once (mkntfs on a host file + ONE libguestfs appliance) and cache them.

Used by the checker's tests (a small volume with every structure the checker walks) and by
bench/ntfs_check.py (100,000 files). The cache key is the hash of this file, so a change to
how volumes are built rebuilds them; tests copy the cached image before patching bytes.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import random
import shutil
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autoverify.guestfs_session import Drive, Settings, appliance


@dataclass(frozen=True)
class VolumeSpec:
    """What to put on a volume: its size, a tree of files, and steps run in the appliance after tar_in."""

    name: str
    size_mib: int
    tarball: Callable[[Path], None]  # writes the tarball to the given path
    finish: Callable[[object], None] | None = None  # g -> None, with the volume mounted on /
    host_finish: Callable[[Path], None] | None = None  # mount point -> None (build_on_host only)
    mkntfs_args: tuple[str, ...] = ("-s", "512", "-c", "4096")


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", link_to: str | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 1_700_000_000
    if link_to is not None:
        info.type, info.linkname = tarfile.LNKTYPE, link_to
        tar.addfile(info)
        return
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
    tar.addfile(info)


def small_tree(out: Path) -> None:
    """~3,000 files in 20 directories (one with 1,200 entries: a two-level index), sizes resident and not,
    and one file with 150 hard links (its $FILE_NAMEs overflow the record: an $ATTRIBUTE_LIST)."""
    with tarfile.open(out, "w") as tar:
        for d in range(20):
            _dir(tar, f"d{d:03d}")
            for i in range(1200 if d == 0 else 95):
                size = (0, 37, 700, 5000, 20000)[(d + i) % 5]
                _add(tar, f"d{d:03d}/file_{i:05d}_with_a_longer_name.txt", bytes([65 + i % 26]) * size)
        _dir(tar, "links")
        _add(tar, "links/target.bin", b"x" * 9000)
        for i in range(150):
            _add(tar, f"links/hard_link_number_{i:04d}_to_the_same_target_file.bin", link_to="links/target.bin")
        _dir(tar, "doomed")
        for i in range(60):
            _add(tar, f"doomed/gone_{i:03d}.dat", b"z" * 3000)


def small_finish(g) -> None:
    """Deleted files and a deleted directory; a fragmented file: with the free space reduced to holes
    (fill files, a ballast taking all the rest, then every other fill file deleted), a new file must
    be split across the holes."""
    g.rm_rf("/doomed")
    for i in range(0, 95, 3):
        g.rm(f"/d005/file_{i:05d}_with_a_longer_name.txt")
    g.mkdir("/frag")
    for i in range(64):
        g.fallocate64(f"/frag/fill_{i:03d}.bin", 64 << 10)
    st = g.statvfs("/")
    g.fallocate64("/frag/ballast.bin", st["bfree"] * st["bsize"] - (256 << 10))
    for i in range(0, 64, 2):
        g.rm(f"/frag/fill_{i:03d}.bin")
    g.fill(0x41, 1 << 20, "/frag/fragmented.bin")
    g.rm("/frag/ballast.bin")


def bench_tree(out: Path) -> None:
    """100,000 empty or tiny files in 1,000 directories (10 top-level folders of 100 each)."""
    with tarfile.open(out, "w") as tar:
        for top in range(10):
            _dir(tar, f"t{top:02d}")
            for d in range(100):
                base = f"t{top:02d}/dir{d:03d}"
                _dir(tar, base)
                for i in range(100):
                    _add(tar, f"{base}/f{i:03d}.txt", b"" if i % 4 else b"data %d" % i)


SMALL = VolumeSpec("small", 64, small_tree, small_finish)
BENCH = VolumeSpec("bench100k", 1024, bench_tree, None)


def empty_tree(out: Path) -> None:
    with tarfile.open(out, "w"):
        pass


def diverse_finish(mnt: Path) -> None:
    """What Windows volumes hold and the other volumes lack: compressed and sparse files, many named
    streams (an attribute list), symbolic links (reparse points), a 5,000-entry directory with
    deletions (a deeper index), hard links, a deleted subtree."""
    rng = random.Random(5)
    big, comp, ads, links = (mnt / n for n in ("big", "comp", "ads", "links"))
    for d in (big, comp, ads, links):
        d.mkdir()
    for i in range(5000):
        (big / f"entry_with_a_long_name_{i:05d}.txt").write_bytes(b"%d\n" % i if i % 7 == 0 else b"")
    for i in range(0, 5000, 3):
        (big / f"entry_with_a_long_name_{i:05d}.txt").unlink()
    os.setxattr(comp, "system.ntfs_attrib_be", (0x800).to_bytes(4, "big"))  # FILE_ATTRIBUTE_COMPRESSED
    (comp / "text.txt").write_bytes(b"compressible text line\n" * 130_000)
    (comp / "random.bin").write_bytes(rng.randbytes(200_000))
    with open(mnt / "holey.bin", "wb") as fh:
        fh.truncate(50 << 20)
        for block in (100, 500):
            fh.seek(block << 16)
            fh.write(rng.randbytes(1 << 16))
    (ads / "file.txt").write_bytes(b"data\n")
    for i in range(120):
        os.setxattr(ads / "file.txt", f"user.stream_number_{i}", b"value of a named stream %d" % i)
    (links / "t.txt").write_bytes(b"target\n")
    for i in range(50):
        os.link(links / "t.txt", links / f"hardlink_{i}.txt")
    os.symlink("t.txt", links / "sym")
    target = "t.txt".encode("utf-16-le")  # a Windows symbolic link: IO_REPARSE_TAG_SYMLINK, relative
    body = struct.pack("<HHHHI", 0, len(target), len(target), len(target), 1) + target + target
    (links / "winlink").write_bytes(b"")
    os.setxattr(links / "winlink", "system.ntfs_reparse_data", struct.pack("<IHH", 0xA000000C, len(body), 0) + body)
    os.symlink("../big", links / "dirsym")
    deep = mnt / "deep" / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (deep / "leaf").write_bytes(b"x")
    shutil.rmtree(mnt / "deep" / "a" / "b" / "c")


DIVERSE = VolumeSpec("diverse", 200, empty_tree, None, diverse_finish)


def realistic_finish(mnt: Path) -> None:
    """The shapes of a file server that ntfs-3g splits over extent records: with the free space cut into
    one-cluster holes (and $MFT grown beforehand), a large file, a compressed file and a 15,000-entry
    directory (then a third of it deleted) get runlists too long for one record, so their attribute
    lists (non-resident ones too) carry the rest in extent records; plus sparse files, hard links,
    symlinks, named streams and a found.000 of recovered files."""
    rng = random.Random(12)
    fill, pre = mnt / "fill", mnt / "pre"
    fill.mkdir()
    pre.mkdir()
    for i in range(6000):
        (fill / f"f{i:05d}").write_bytes(b"f" * 4096)
    for i in range(16000):  # grow $MFT now, so later files reuse its records instead of taking holes
        (pre / f"p{i:05d}").write_bytes(b"")
    shutil.rmtree(pre)
    comp = mnt / "comp"
    comp.mkdir()
    os.setxattr(comp, "system.ntfs_attrib_be", (0x800).to_bytes(4, "big"))  # FILE_ATTRIBUTE_COMPRESSED
    (comp / "mixed.txt").write_bytes(b"".join(rng.randbytes(2000) + b"z" * 6000 for _ in range(1100)))
    st = os.statvfs(mnt)
    with open(mnt / "ballast", "wb") as fh:
        fh.write(b"\0" * max(0, st.f_bavail * st.f_bsize - (64 << 10)))
    for i in range(0, 6000, 2):
        (fill / f"f{i:05d}").unlink()
    (mnt / "large.bin").write_bytes(rng.randbytes(2 << 20))
    big = mnt / "big"
    big.mkdir()
    for i in range(15000):
        (big / f"entry_{i:05d}_with_a_rather_long_file_name.txt").write_bytes(b"" if i % 5 else b"%d" % i)
    (mnt / "ballast").unlink()
    for i in range(0, 15000, 3):
        (big / f"entry_{i:05d}_with_a_rather_long_file_name.txt").unlink()
    with open(mnt / "sparse.bin", "wb") as fh:
        fh.truncate(40 << 20)
        for block in (3, 90, 400):
            fh.seek(block << 16)
            fh.write(rng.randbytes(1 << 16))
    found = mnt / "found.000"
    found.mkdir()
    for i in range(3):
        (found / f"file{i:04d}.chk").write_bytes(rng.randbytes(9000))
    (mnt / "t.txt").write_bytes(b"target\n")
    for i in range(20):
        os.link(mnt / "t.txt", mnt / f"link_{i}.txt")
    os.symlink("t.txt", mnt / "sym")
    (mnt / "ads.txt").write_bytes(b"data\n")
    for i in range(40):
        os.setxattr(mnt / "ads.txt", f"user.stream_{i}", rng.randbytes(3000))


REALISTIC = VolumeSpec("realistic", 128, empty_tree, None, realistic_finish)


def geometry_tree(out: Path) -> None:
    """1,500 small files in one directory plus a non-resident file: indexes and runs at any geometry."""
    with tarfile.open(out, "w") as tar:
        _dir(tar, "d")
        for i in range(1500):
            _add(tar, f"d/file_number_{i:04d}", b"%d\n" % i)
        _add(tar, "big.bin", bytes(range(256)) * 12_000)


def geometry(sector: int, cluster: int) -> VolumeSpec:
    """A volume with another sector/cluster size (4Kn disks, 64 KiB clusters, clusters smaller than
    an index block)."""
    return VolumeSpec(f"geo-{sector}-{cluster}", 300, geometry_tree, None, None,
                      ("-s", str(sector), "-c", str(cluster)))


def spec_key(spec: VolumeSpec) -> str:
    """Cache key: the recipe's own code (tree and finishing steps) and size."""
    h = hashlib.sha256(f"{spec.name}:{spec.size_mib}".encode())
    if spec.mkntfs_args != VolumeSpec.mkntfs_args:
        h.update(" ".join(spec.mkntfs_args).encode())
    for fn in (spec.tarball, spec.finish, spec.host_finish, _add, _dir):
        if fn is not None:
            h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:12]


def build(spec: VolumeSpec, cache: Path, settings: Settings | None = None) -> Path:
    """Return the cached populated image for `spec`, building it (mkntfs + one appliance) when missing."""
    image = cache / f"ntfs-{spec.name}-{spec_key(spec)}.img"
    if image.exists():
        return image
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp) / "volume.img"
        with open(work, "wb") as fh:
            fh.truncate(spec.size_mib << 20)
        subprocess.run(["mkntfs", "-F", "-Q", "-q", *spec.mkntfs_args, "-L", spec.name, str(work)],
                       check=True, capture_output=True)
        tarball = Path(tmp) / "tree.tar"
        spec.tarball(tarball)
        with appliance([Drive(str(work), "raw", readonly=False)], settings or Settings()) as g:
            g.mount("/dev/sda", "/")
            g.tar_in(str(tarball), "/")
            if spec.finish:
                spec.finish(g)
            g.sync()
            g.umount_all()
        os.replace(work, image)
    return image


def build_on_host(spec: VolumeSpec, cache: Path) -> Path:
    """Like `build`, but populated through the host's ntfs-3g (FUSE) instead of the appliance: for the
    100,000-file bench volume, which takes far too long to write through TCG on a shared machine."""
    image = cache / f"ntfs-{spec.name}-host-{spec_key(spec)}.img"
    if image.exists():
        return image
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work, mnt, tarball = Path(tmp) / "volume.img", Path(tmp) / "mnt", Path(tmp) / "tree.tar"
        with open(work, "wb") as fh:
            fh.truncate(spec.size_mib << 20)
        subprocess.run(["mkntfs", "-F", "-Q", "-q", *spec.mkntfs_args, "-L", spec.name, str(work)],
                       check=True, capture_output=True)
        spec.tarball(tarball)
        mnt.mkdir()
        subprocess.run(["ntfs-3g", "-o", "streams_interface=xattr,compression", str(work), str(mnt)], check=True)
        try:
            subprocess.run(["tar", "-xf", str(tarball), "-C", str(mnt)], check=True)
            if spec.host_finish:
                spec.host_finish(mnt)
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
        os.replace(work, image)
    return image


def copy_image(src: Path, dst: Path) -> Path:
    """A sparse private copy of a cached image, for a test to patch."""
    subprocess.run(["cp", "--sparse=always", str(src), str(dst)], check=True)
    return dst


if __name__ == "__main__":  # warm the cache: python -m tests.checks.ntfs_volumes [small|bench100k]
    import sys

    cache = Path(os.environ.get("AUTOVERIFY_TEST_CACHE", "/var/tmp/autoverify-test-cache"))
    for name in sys.argv[1:] or ["small"]:
        print(build(SMALL, cache) if name == "small" else build_on_host(BENCH, Path("/var/tmp/autoverify-bench-cache")))
