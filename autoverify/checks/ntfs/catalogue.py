"""The registered NTFS check ids: what each protects against, and the severity of its findings.

Every finding the checker emits carries one of these ids (a test asserts it); reports and
the CLI show the id, so it must stay stable. Errors make the volume's status "errors"
(exit 4); warnings do not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    id: str
    severity: str
    doc: str


CATALOGUE: tuple[Check, ...] = (
    Check("ntfs.unreadable", "error", "The volume cannot be checked at all: not NTFS, encrypted, or unreadable."),
    Check("ntfs.boot", "error", "Primary boot sector: signature, 0x55AA marker, sector/cluster/record/index sizes, "
          "total sectors against the device, $MFT/$MFTMirr cluster numbers in range and distinct."),
    Check("ntfs.boot-backup", "error", "The backup boot sector after the last volume sector is present and equal "
          "to the primary (Windows repairs from it)."),
    Check("ntfs.mftmirr", "error", "$MFTMirr equals the first records of $MFT and sits where the boot sector says."),
    Check("ntfs.record-header", "error", "In-use file records: FILE signature (BAAD = torn write found by Windows), "
          "bytes in use, allocated size, first attribute offset, sequence number, record number."),
    Check("ntfs.fixup", "error", "Update sequence of file records: count, offset, and every sector's last two "
          "bytes (a torn or partial write)."),
    Check("ntfs.attribute", "error", "The attribute walk: lengths, alignment, bounds, end marker, resident value "
          "bounds, order, duplicates, non-resident sizes consistent (initialized <= data <= allocated)."),
    Check("ntfs.runlist", "error", "Mapping pairs decode, every run lies inside the volume, and the runs cover "
          "exactly the VCNs the attribute header (and allocated size) claims."),
    Check("ntfs.attrlist", "error", "$ATTRIBUTE_LIST entries point to in-use extent records whose base reference "
          "points back and that hold the listed attribute; no extent record is orphaned."),
    Check("ntfs.required-attr", "error", "Required attributes: $STANDARD_INFORMATION; $FILE_NAME on base records; "
          "$DATA on files; $INDEX_ROOT on directories; $BITMAP with $INDEX_ALLOCATION."),
    Check("ntfs.link-count", "error", "The hard link count in the record header matches its $FILE_NAME attributes."),
    Check("ntfs.mft-bitmap", "error", "$MFT's $BITMAP marks exactly the records that are in use."),
    Check("ntfs.cross-link", "error", "No cluster is owned by two attributes (files would overwrite each other)."),
    Check("ntfs.bitmap", "error", "$Bitmap marks every cluster in use as allocated (else new files overwrite data) "
          "and no cluster that nobody owns (lost space)."),
    Check("ntfs.index", "error", "Index structures: $INDEX_ROOT, INDX blocks (signature, fixups, VCN, entry "
          "lengths and bounds, last-entry marker), the index $BITMAP against the blocks in the tree."),
    Check("ntfs.dangling", "error", "Every directory entry points to an in-use base record with the same sequence "
          "number and a $FILE_NAME of that name in that directory."),
    Check("ntfs.orphan", "error", "Every in-use file is listed under each of its names in its parent directory, "
          "whose record is a directory in use."),
    Check("ntfs.cycle", "error", "Every directory's parent chain reaches the root (no directory is its own "
          "ancestor)."),
    Check("ntfs.system-file", "error", "System files 0-10 are in use under their own names; $Boot starts at "
          "cluster 0; $UpCase is a 128 KiB table that upper-cases ASCII (name lookups depend on it)."),
    Check("ntfs.dirty", "error", "The $Volume dirty flag: Windows found damage or has chkdsk pending at boot."),
    Check("ntfs.logfile", "warning", "The $LogFile restart area: not cleanly unmounted (a crash-consistent "
          "snapshot), or a damaged restart page; a warning, not corruption."),
    Check("ntfs.internal", "error", "The checker hit a structure it could not follow; the verdict is incomplete."),
    Check("ntfs.bitlocker", "info", "BitLocker-encrypted volumes cannot be checked offline; never called corrupt."),
)

BY_ID = {c.id: c for c in CATALOGUE}


def severity(check_id: str) -> str:
    return BY_ID[check_id].severity
