"""AutoVerify: offline verification of Windows failover-cluster backup snapshots.

The pipeline, one package per stage:
  discovery (snapshot store) -> inspection (the only guestfs user) -> checks (NTFS, pure)
  -> driveletter_audit (pure, across nodes) -> store (SQLite) -> reports (render, deliver).
"""

__version__ = "0.1.0"

from autoverify import findings as _findings  # noqa: E402, F401 - installs the finding-id check on models.Finding
