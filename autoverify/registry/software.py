"""Windows version from SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion (domain.md §3), host name from SYSTEM."""

from __future__ import annotations

import os

from autoverify.models import OsInfo
from autoverify.registry.hive import Hive, HiveError, hostname, open_hive

CURRENT_VERSION = ("Microsoft", "Windows NT", "CurrentVersion")


def _version(hive: Hive, node: int) -> tuple[int, int]:
    major = hive.dword(node, "CurrentMajorVersionNumber")
    minor = hive.dword(node, "CurrentMinorVersionNumber")
    if major is not None:
        return major, minor or 0
    text = hive.string(node, "CurrentVersion") or ""
    parts = (text.split(".") + ["0"])[:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return 0, 0


def os_info(software_path: str | os.PathLike, system_path: str | os.PathLike | None = None) -> OsInfo:
    """Product, version, build, installation type (and host name when SYSTEM is given)."""
    hive = open_hive(software_path)
    node = hive.node(*CURRENT_VERSION)
    if node is None:
        raise HiveError(f"{os.fspath(software_path)}: is not a SOFTWARE hive (no Microsoft\\Windows NT\\CurrentVersion).")
    major, minor = _version(hive, node)
    product = hive.string(node, "ProductName") or ""
    install = hive.string(node, "InstallationType") or ("Server" if "server" in product.lower() else "")
    host = hostname(open_hive(system_path)) if system_path else ""
    return OsInfo(product_name=product, version=f"{major}.{minor}", major=major, minor=minor,
                  build=hive.string(node, "CurrentBuildNumber") or hive.string(node, "CurrentBuild") or "",
                  hostname=host, installation_type=install, edition=hive.string(node, "EditionID") or "")
