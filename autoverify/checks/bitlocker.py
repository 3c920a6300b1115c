"""BitLocker detection: an encrypted volume cannot be checked offline, and must never be called corrupt.

BitLocker replaces the boot sector's OEM id "NTFS    " with "-FVE-FS-" (BitLocker To Go on
FAT volumes uses "MSWIN4.1" with an FVE GUID; those are never NTFS so the checker says "not
NTFS" for them).
"""

from __future__ import annotations

BITLOCKER_OEM = b"-FVE-FS-"
MESSAGE = "encrypted (BitLocker), cannot be checked offline"


def is_bitlocker(boot_sector: bytes) -> bool:
    """True when the volume's first sector carries the BitLocker signature."""
    return boot_sector[3:11] == BITLOCKER_OEM
