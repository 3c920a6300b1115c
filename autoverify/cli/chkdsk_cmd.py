"""`autoverify chkdsk IMAGE [--partition N | --offset BYTES] [--json]`: read-only NTFS check of one volume.

Exit codes as fsck (docs/cli.md): 0 clean, 4 errors found, 8 could not check (not NTFS,
BitLocker, unreadable), with one sentence on stderr saying which.
"""

from __future__ import annotations

import json
import sys

from autoverify.checks.ntfs import check_ntfs
from autoverify.errors import ImageError
from autoverify.models import CheckResult
from autoverify.readers import Window, find_partition, open_reader

EXIT_CLEAN, EXIT_ERRORS, EXIT_UNCHECKED = 0, 4, 8
EXIT_BY_STATUS = {"clean": EXIT_CLEAN, "errors": EXIT_ERRORS, "unchecked": EXIT_UNCHECKED}


def check_image(image: str, partition: int | None = None, offset: int | None = None) -> CheckResult:
    """Open the image read-only, find the volume, check it. Raises ImageError naming the culprit."""
    with open_reader(image) as disk:
        if partition is not None:
            start, size = find_partition(disk, partition, f"the image {image}")
        elif offset is not None:
            if not 0 <= offset < disk.size:
                raise ImageError(f"offset {offset} lies outside the image {image} ({disk.size} bytes).")
            start, size = offset, disk.size - offset
        else:
            start, size = 0, disk.size
        result = check_ntfs(Window(disk, start, size))
        if result.status == "unchecked" and partition is None and offset is None:
            hint = _partitions_hint(disk, image)
            if hint:
                raise ImageError(hint)
        return result


def _partitions_hint(disk, image: str) -> str | None:
    """When a whole disk was given instead of a volume, say which partitions to check."""
    found = []
    for n in range(1, 17):
        try:
            start, _size = find_partition(disk, n)
        except ImageError:
            continue
        if disk.pread(8, start + 3) in (b"NTFS    ", b"-FVE-FS-"):
            found.append(str(n))
    if not found:
        return None
    return (f"the image {image} is a partitioned disk, not a volume: check it with --partition N "
            f"(NTFS partitions: {', '.join(found)}).")


def as_json(result: CheckResult) -> dict:
    return {"status": result.status,
            "findings": [{"check": f.check, "severity": f.severity, "record": f.record, "path": f.path,
                          "message": f.message} for f in result.findings],
            "stats": {"mft_records": result.mft_records, "seconds": result.seconds}}


def run(args) -> int:
    try:
        result = check_image(args.image, args.partition, args.offset)
    except ImageError as exc:
        print(f"autoverify: {exc}", file=sys.stderr)
        if args.json:
            finding = {"check": "ntfs.unreadable", "severity": "error", "record": None, "path": None,
                       "message": str(exc)}
            print(json.dumps({"status": "unchecked", "findings": [finding], "stats": {"mft_records": 0,
                                                                                       "seconds": 0.0}}))
        return EXIT_UNCHECKED
    if args.json:
        print(json.dumps(as_json(result), indent=2))
    else:
        _print_text(args.image, result)
    if result.status == "unchecked":
        why = result.findings[0].message if result.findings else "the volume could not be checked."
        print(f"autoverify: {args.image}: {why}", file=sys.stderr)
    return EXIT_BY_STATUS[result.status]


def _print_text(image: str, result: CheckResult) -> None:
    for f in result.findings:
        where = f" record {f.record}" if f.record is not None else ""
        path = f" {f.path}" if f.path else ""
        print(f"{f.severity.upper():8} {f.check}{where}{path}: {f.message}")
    print(f"{image}: {result.status} ({result.mft_records} file records in use, {result.seconds:.2f} s)")
