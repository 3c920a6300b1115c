"""The chkdsk-equivalent NTFS consistency checker: pure Python (+ numpy) over a byte-range reader.

`check_ntfs(reader) -> CheckResult`; the check ids and what they protect against are in
`catalogue.CATALOGUE`.
"""

from autoverify.checks.ntfs.checker import check_ntfs

__all__ = ["check_ntfs"]
