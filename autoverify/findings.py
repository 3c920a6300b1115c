"""The finding registry: every finding id any stage raises, declared once as data.

Why: an id is a key MSP scripts, the database and the report rely on, so it must not be
made up where it is raised. Each `FindingKind` says its severity, a title, what an
engineer should do (the remedy) and the docs/findings.md section it is listed under.
Raise sites take severity and remedy from here unless they know something more specific
(a remedy naming the node). The NTFS check catalogue and the audit rules derive from this
table; `autoverify findings --list` prints it and docs/findings.md is rendered from it.

To add an id: append a `FindingKind` to `KINDS` (in its section), raise it, and run
`make docs` to re-render docs/findings.md.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from autoverify.models import Finding, install_id_guard

log = logging.getLogger(__name__)

# Section key -> heading in docs/findings.md, in the order the stages run.
SECTIONS = {
    "inspect": "Inspection (opening a snapshot's disks and reading Windows)",
    "ntfs": "NTFS volume check (the chkdsk-equivalent)",
    "verify": "Verify run",
    "audit": "Drive-letter and CSV audit (audit-letters)",
}


@dataclass(frozen=True)
class FindingKind:
    """One declared finding id. `aliases` are older ids of the same fact still found in databases."""

    id: str
    severity: str  # one of SEVERITIES: the default where the raise site says nothing more specific
    section: str  # a key of SECTIONS
    title: str  # a few words, what went wrong
    remedy: str  # what an MSP engineer should do about it
    doc: str = ""  # what the check protects against / when it fires
    aliases: tuple[str, ...] = ()


_VERIFY_ON_NODE = "Run chkdsk /scan on the protected node for this volume, then take a new backup."
_CHKDSK_FIX = ("Run chkdsk /f on the protected node (or on a restored copy) for this volume, then take a new "
               "Full backup: the damage is in the backup chain until a new backup replaces it.")

KINDS: tuple[FindingKind, ...] = (
    # --- inspection -------------------------------------------------------------------------------------------
    FindingKind("inspect.unreadable", "error", "inspect", "Disk image cannot be read",
                "Check that the backup job finished and the file is complete on the store (size, permissions); "
                "re-run the backup of this system if the image is truncated or corrupt.",
                "The disk image is missing, unreadable, truncated/corrupt (qemu-img check), holds neither a "
                "partition table nor a filesystem, or inspection failed on it."),
    FindingKind("inspect.zero-byte", "error", "inspect", "Disk image is empty",
                "The backup wrote a zero-byte file: check the store's free space and the backup job's log, then "
                "run a new Full backup of this system.",
                "The disk image file has a size of 0 bytes."),
    FindingKind("inspect.unknown-format", "error", "inspect", "Disk image format not supported",
                "Make sure the store holds raw, qcow2, vmdk or vhdx images; convert others with qemu-img "
                "convert, or exclude the file from the snapshot folder.",
                "The file's content is none of raw, qcow2, vmdk or vhdx (e.g. a VHD or an archive)."),
    FindingKind("inspect.missing-backing", "error", "inspect", "Incremental's backing file is missing",
                "Restore the missing earlier snapshot into the store, or run a new Full backup: without its "
                "backing chain this incremental cannot be restored either.",
                "A qcow2 overlay names a backing file (the previous snapshot's disk) that is missing or cannot be "
                "opened."),
    FindingKind("inspect.hive", "error", "inspect", "Windows registry hive unreadable",
                "The SYSTEM/SOFTWARE/cluster hive in the backup is damaged: run chkdsk and sfc /scannow on the "
                "node, then take a new backup.",
                "A registry hive of the Windows volume cannot be decoded, so the OS, the drive letters or the "
                "cluster configuration are unknown."),
    FindingKind("inspect.no-os", "error", "inspect", "No Windows installation found",
                "Check that the snapshot contains the system disk (the backup job's disk selection); a data-only "
                "snapshot cannot be booted or virtualised.",
                "None of the snapshot's disks holds a Windows system volume."),
    FindingKind("inspect.timeout", "error", "inspect", "Inspection timed out",
                "Run verify again; if it times out again, raise guestfs.snapshot_timeout in config.toml or check "
                "the store's read speed (a slow NAS or a very long backing chain).",
                "Inspecting the snapshot took longer than its limit; the snapshot stays pending."),
    FindingKind("inspect.appliance", "error", "inspect", "Inspection appliance failed",
                "A problem of the AutoVerify host, not of the backup: check libguestfs (libguestfs-test-tool), "
                "free memory and KVM, then run verify again; the snapshot stays pending.",
                "The libguestfs appliance could not start, open the disks, or died while inspecting."),
    FindingKind("inspect.ldm", "warning", "inspect", "Dynamic (LDM) disk not inspected",
                "Convert the disk to a basic disk on the protected node (after a verified backup), or verify "
                "its volumes on the running system.",
                "Dynamic disks' volumes are not inspected or checked offline."),
    # --- NTFS check (ids are chkdsk --json "check" values: keep them stable) -----------------------------------
    FindingKind("ntfs.unreadable", "error", "ntfs", "Volume cannot be checked",
                "Check that the image is complete and the partition is NTFS; if the backup is truncated, run a "
                "new Full backup.",
                "The volume cannot be checked at all: not NTFS, encrypted, or unreadable."),
    FindingKind("ntfs.boot", "error", "ntfs", "Boot sector damaged", _CHKDSK_FIX,
                "Primary boot sector: signature, 0x55AA marker, sector/cluster/record/index sizes, total sectors "
                "against the device, $MFT/$MFTMirr cluster numbers in range and distinct."),
    FindingKind("ntfs.boot-backup", "error", "ntfs", "Backup boot sector missing or different", _CHKDSK_FIX,
                "The backup boot sector after the last volume sector is present and equal to the primary "
                "(Windows repairs from it)."),
    FindingKind("ntfs.mftmirr", "error", "ntfs", "$MFTMirr differs from $MFT", _CHKDSK_FIX,
                "$MFTMirr equals the first records of $MFT and sits where the boot sector says."),
    FindingKind("ntfs.record-header", "error", "ntfs", "File record header damaged", _CHKDSK_FIX,
                "In-use file records: FILE signature (BAAD = torn write found by Windows), bytes in use, "
                "allocated size, first attribute offset, sequence number, record number."),
    FindingKind("ntfs.fixup", "error", "ntfs", "Torn write in a file record", _CHKDSK_FIX,
                "Update sequence of file records: count, offset, and every sector's last two bytes (a torn or "
                "partial write)."),
    FindingKind("ntfs.attribute", "error", "ntfs", "File record attribute damaged", _CHKDSK_FIX,
                "The attribute walk: lengths, alignment, bounds, end marker, resident value bounds, order, "
                "duplicates, instance numbers, residency."),
    FindingKind("ntfs.runlist", "error", "ntfs", "File data runs damaged", _CHKDSK_FIX,
                "Mapping pairs decode (no zero or negative length, no header byte whose size nibbles run past the "
                "attribute, no negative LCN), every run lies inside the volume, the runs end at the header's "
                "highest VCN, and a piece starting above VCN 0 belongs to a file with an attribute list."),
    FindingKind("ntfs.attr-size", "error", "ntfs", "Attribute sizes inconsistent", _CHKDSK_FIX,
                "Sizes of a non-resident attribute, judged on its first piece once the file's pieces are gathered "
                "through its attribute list: initialized <= data <= allocated, allocated a multiple of the "
                "cluster size and equal to the clusters the runlist (all pieces) maps; $MFT included."),
    FindingKind("ntfs.sparse", "error", "ntfs", "Holes in a stream that is not sparse", _CHKDSK_FIX,
                "A non-resident stream whose runlist has holes carries the sparse or compressed flag (a cleared "
                "sparse flag makes readers take holes for damage); $BadClus:$Bad excepted."),
    FindingKind("ntfs.file-name", "error", "ntfs", "Invalid $FILE_NAME", _CHKDSK_FIX,
                "$FILE_NAME values: the namespace is 0-3 (POSIX, Win32, DOS, Win32+DOS)."),
    FindingKind("ntfs.collation", "error", "ntfs", "Directory entries out of order", _CHKDSK_FIX,
                "$I30 index entries of each node are in NTFS file name collation order (names upper-cased "
                "through the volume's $UpCase, then case-sensitive): else lookups miss files."),
    FindingKind("ntfs.attrlist", "error", "ntfs", "$ATTRIBUTE_LIST inconsistent", _CHKDSK_FIX,
                "$ATTRIBUTE_LIST entries point to in-use extent records whose base reference points back and that "
                "hold the listed attribute; no extent record is orphaned."),
    FindingKind("ntfs.required-attr", "error", "ntfs", "Required attribute missing", _CHKDSK_FIX,
                "Required attributes: $STANDARD_INFORMATION; $FILE_NAME on base records; $DATA on files; "
                "$INDEX_ROOT on directories; $BITMAP with $INDEX_ALLOCATION."),
    FindingKind("ntfs.link-count", "error", "ntfs", "Hard link count wrong", _CHKDSK_FIX,
                "The hard link count in the record header matches its $FILE_NAME attributes."),
    FindingKind("ntfs.mft-bitmap", "error", "ntfs", "$MFT bitmap wrong", _CHKDSK_FIX,
                "$MFT's $BITMAP marks exactly the records that are in use."),
    FindingKind("ntfs.cross-link", "error", "ntfs", "Cluster owned by two files",
                "Restore the files named in the findings from an older verified snapshot, then run chkdsk /f on "
                "the node and take a new Full backup.",
                "No cluster is owned by two attributes (files would overwrite each other)."),
    FindingKind("ntfs.bitmap", "error", "ntfs", "$Bitmap wrong (free/used clusters)", _CHKDSK_FIX,
                "$Bitmap marks every cluster in use as allocated (else new files overwrite data) and no cluster "
                "that nobody owns (lost space)."),
    FindingKind("ntfs.index", "error", "ntfs", "Directory index damaged", _CHKDSK_FIX,
                "Index structures: $INDEX_ROOT, INDX blocks (signature, fixups, VCN, entry lengths and bounds, "
                "last-entry marker), the index $BITMAP against the blocks in the tree."),
    FindingKind("ntfs.dangling", "error", "ntfs", "Directory entry points nowhere", _CHKDSK_FIX,
                "Every directory entry points to an in-use base record with the same sequence number and a "
                "$FILE_NAME of that name in that directory."),
    FindingKind("ntfs.orphan", "error", "ntfs", "File missing from its directory",
                "Run chkdsk /f on the node (it moves orphans to \\found.000), check the files named in the "
                "findings, then take a new Full backup.",
                "Every in-use file is listed under each of its names in its parent directory, whose record is a "
                "directory in use."),
    FindingKind("ntfs.cycle", "error", "ntfs", "Directory cycle", _CHKDSK_FIX,
                "Every directory's parent chain reaches the root (no directory is its own ancestor)."),
    FindingKind("ntfs.system-file", "error", "ntfs", "NTFS system file damaged", _CHKDSK_FIX,
                "System files 0-10 are in use under their own names; $Boot starts at cluster 0; $UpCase is a "
                "128 KiB table that upper-cases ASCII (name lookups depend on it)."),
    FindingKind("ntfs.dirty", "error", "ntfs", "Volume marked dirty",
                "Windows itself found damage: run chkdsk /f on the node (schedule it for the next reboot for the "
                "system volume), then take a new backup.",
                "The $Volume dirty flag: Windows found damage or has chkdsk pending at boot."),
    FindingKind("ntfs.logfile", "warning", "ntfs", "Volume not cleanly unmounted",
                "Usually harmless in a crash-consistent snapshot (Windows replays the log at mount). If it "
                "repeats on every snapshot, check that VSS snapshots succeed on the node.",
                "The $LogFile restart area: not cleanly unmounted (a crash-consistent snapshot); a warning, not "
                "corruption."),
    FindingKind("ntfs.logfile-damaged", "error", "ntfs", "$LogFile restart page damaged", _CHKDSK_FIX,
                "Each $LogFile restart page is a valid RSTR/CHKD page (signature, page size, update sequence, "
                "restart area offset) or emptied to 0xFF: else Windows can neither replay nor reset the log."),
    FindingKind("ntfs.internal", "error", "ntfs", "Check incomplete (unexpected structure)",
                "The verdict is incomplete: run chkdsk /scan on the node for this volume, and report the finding "
                "(with the image) to the AutoVerify maintainers.",
                "The checker hit a structure it could not follow; the verdict is incomplete."),
    FindingKind("ntfs.bitlocker", "warning", "ntfs", "BitLocker volume not checked offline",
                "Verify the volume on the running node (chkdsk /scan) and make sure its BitLocker recovery key "
                "is escrowed: a restore of this volume needs it.",
                "BitLocker-encrypted volumes cannot be checked offline; never called corrupt. Raised by "
                "inspection, by verify and by chkdsk for the same fact.",
                aliases=("inspect.bitlocker", "check.bitlocker")),
    # --- verify -------------------------------------------------------------------------------------------------
    FindingKind("check.unreadable", "error", "verify", "Volume could not be read for checking",
                "Check the disk image and its backing chain on the store (see the inspection findings of the same "
                "snapshot); run verify again once it is readable.",
                "Verify could not open the volume inspection found (its disk is missing or the read failed); the "
                "volume is unchecked."),
    FindingKind("verify.unlettered-csv-checked", "info", "verify", "CSV without a drive letter checked",
                "Give the CSV the same drive letter on every node so the vendor's verification checks it too "
                "(see audit-letters).",
                "A CSV with no drive letter is skipped by the vendor's verification; AutoVerify checked it "
                "(verify.check_unlettered)."),
    FindingKind("verify.unlettered-checked", "info", "verify", "Volume without a drive letter checked",
                "None needed; give it a letter if the vendor's verification should cover it.",
                "An NTFS volume with no drive letter (a data volume, a mount-point-only volume, a volume of a "
                "snapshot without Windows) is skipped by the vendor's verification; AutoVerify checked it "
                "(verify.check_unlettered)."),
    # --- drive-letter audit (ids are audit-letters --json "rule" values: keep them stable) ---------------------
    FindingKind("csv-no-letter", "warning", "audit", "CSV has no drive letter",
                "Give the CSV the same drive letter on every node (see the remediation plan).",
                "A CSV with no drive letter on any node (2012+): the vendor's AutoVerify does not check it and it "
                "is not browsable after virtualisation."),
    FindingKind("csv-letter-mismatch", "warning", "audit", "CSV letters differ between nodes",
                "Give the CSV one drive letter on every node (see the remediation plan).",
                "The nodes that give a CSV a letter do not agree on it: after a failover the volume changes "
                "letter."),
    FindingKind("csv-letter-partial", "warning", "audit", "CSV has a letter on some nodes only",
                "Assign the CSV its letter on the nodes that lack it (see the remediation plan).",
                "While attached to a node without a letter, the CSV's backups go unverified and unbrowsable."),
    FindingKind("letter-collision", "error", "audit", "Drive letter taken by another volume",
                "Give the volume a letter free on every node, or move the other volume to another letter.",
                "A letter a CSV or role disk uses on some node is taken by another volume on this node."),
    FindingKind("shared-disk-no-letter", "warning", "audit", "Role shared disk has no drive letter",
                "Assign the disk a drive letter in Failover Cluster Manager (Change Drive Letter); the cluster "
                "keeps it on every node.",
                "A role shared disk without a letter on a node: not verified by the vendor and not browsable."),
    FindingKind("enable-csv-missing", "critical", "audit", "Agent does not back up CSVs",
                "Stop the backup agent service on the node, add the line ENABLE_CSV=true to aristos.cfg in the "
                "agent's install folder, and start the service again.",
                "The cluster has CSVs and the node's agent config lacks ENABLE_CSV=true: the node never backs up "
                "a CSV."),
    FindingKind("legacy-2008r2-csv", "warning", "audit", "CSV on a Windows Server 2008 R2 node",
                "Upgrade the node to Windows Server 2012 or newer, or back up the virtual machines on the CSV "
                "with their own agents.",
                "A CSV cannot get a letter on 2008 R2, FastDelta is unavailable and the vendor does not "
                "recommend CSV backup there."),
    FindingKind("csv-never-captured", "warning", "audit", "CSV never in a snapshot of this node",
                "Move the CSV to the node and run a backup of the node.",
                "No snapshot of this node ever held this CSV: its backup set is incomplete."),
    FindingKind("node-not-audited", "error", "audit", "Node could not be audited",
                "Make the node reachable (WinRM, credentials) or verify its snapshots, then audit again.",
                "Not a rule: a configured node could not be audited (unreachable over WinRM, credentials "
                "rejected, a query failed, or no inspected snapshot); its letters and CSVs are unknown."),
)

BY_ID: dict[str, FindingKind] = {k.id: k for k in KINDS}
_BY_ALIAS: dict[str, FindingKind] = {a: k for k in KINDS for a in k.aliases}

# Tests set this (tests/conftest.py): an undeclared id then raises instead of logging a warning.
STRICT = os.environ.get("AUTOVERIFY_STRICT_FINDINGS", "") not in ("", "0")
_warned: set[str] = set()


class UndeclaredFinding(ValueError):
    """A finding id raised that autoverify/findings.py does not declare."""


def kind(finding_id: str) -> FindingKind:
    """The declared kind of an id (or of an older alias of it, as stored in old databases)."""
    found = BY_ID.get(finding_id) or _BY_ALIAS.get(finding_id)
    if found is None:
        raise UndeclaredFinding(f"finding id {finding_id!r} is not declared in autoverify/findings.py.")
    return found


def severity(finding_id: str) -> str:
    return kind(finding_id).severity


def in_section(section: str) -> tuple[FindingKind, ...]:
    return tuple(k for k in KINDS if k.section == section)


def check_declared(finding_id: str) -> None:
    """The runtime guard (Finding.__post_init__): raise under STRICT, else log once and let the run go on."""
    if finding_id in BY_ID:
        return
    if STRICT:
        raise UndeclaredFinding(f"finding id {finding_id!r} is raised but not declared in autoverify/findings.py.")
    if finding_id not in _warned:
        _warned.add(finding_id)
        log.warning("finding id %r is not declared in autoverify/findings.py", finding_id)


install_id_guard(check_declared)  # Finding.__post_init__ checks every id against KINDS


def make(finding_id: str, message: str, *, severity: str | None = None, remedy: str | None = None,
         **where: Any) -> Finding:
    """A Finding whose severity and remedy default to the declared ones."""
    k = kind(finding_id)
    return Finding(check=finding_id, severity=severity or k.severity, message=message,
                   remedy=remedy or k.remedy, **where)


def as_json(k: FindingKind) -> dict[str, Any]:
    return {"id": k.id, "severity": k.severity, "section": k.section, "title": k.title, "remedy": k.remedy,
            "doc": k.doc, "aliases": list(k.aliases)}


def render_markdown() -> str:
    """docs/findings.md, rendered from KINDS (tests/foundation/test_findings.py keeps the file equal to this)."""
    out = ["# Finding ids", "",
           "Generated from `autoverify/findings.py` by `make docs` (tools/render_findings.py): do not edit by hand.",
           "Every id a stage raises is declared there once; `autoverify findings --list [--json]` prints the same "
           "table. Severity is the default (a raise site may be more specific); aliases are older ids of the same "
           "fact that databases written before may still hold.", ""]
    for section, heading in SECTIONS.items():
        out += [f"## {heading}", "", "| id | severity | title | remedy |", "|---|---|---|---|"]
        out += [f"| `{k.id}` | {k.severity} | {_cell(k.title)} | {_cell(k.remedy)} |" for k in in_section(section)]
        out.append("")
        for k in in_section(section):
            also = f" Older ids: {', '.join(f'`{a}`' for a in k.aliases)}." if k.aliases else ""
            out.append(f"- `{k.id}`: {_cell(k.doc)}{also}")
        out.append("")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
