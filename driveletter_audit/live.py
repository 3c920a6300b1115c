"""(c) Live inventories: ask each node over WinRM (pywinrm), PowerShell piped to ConvertTo-Json.

HTTPS with certificate validation, NTLM, by default (config.toml [[clusters]] winrm_* keys);
credentials come from the environment variables the config names. A node that cannot be
reached, rejects the credentials or fails a query becomes a `NodeFailure` (one sentence),
never a traceback. The JSON is turned into the same models the offline path uses, so both
share `build_inventory`'s letter resolution.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError

from autoverify.agent_config import enable_csv
from autoverify.models import ClusterDisk, ClusterInfo, CsvVolume, OsInfo, Volume
from driveletter_audit.inventory import (
    Inventories,
    NodeFailure,
    NodeInventory,
    SnapshotRecord,
    build_inventory,
)

# One PowerShell pipeline per fact; the test listener replays recorded output keyed by these names.
COMMANDS: dict[str, str] = {
    "os": "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber, "
          "ProductType | ConvertTo-Json",
    "csvs": "Get-ClusterSharedVolume | Select-Object Name, Id, State, OwnerNode, SharedVolumeInfo "
            "| ConvertTo-Json -Depth 4",
    "csv_state": "Get-ClusterSharedVolumeState | ConvertTo-Json -Depth 2",
    "partitions": "Get-Partition | Select-Object DiskNumber, PartitionNumber, DriveLetter, AccessPaths, Guid, "
                  "Offset, Size, Type | ConvertTo-Json -Depth 3",
    "volumes": "Get-Volume | Select-Object DriveLetter, DriveType, FileSystemLabel, FileSystem, UniqueId, Path, "
               "Size, SizeRemaining | ConvertTo-Json -Depth 2",
    "role_disks": "Get-ClusterResource | Where-Object { $_.ResourceType -eq 'Physical Disk' -and "
                  "$_.OwnerGroup.Name -ne 'Available Storage' } | ForEach-Object { $r = $_; "
                  "[pscustomobject]@{ Name = $r.Name; Id = $r.Id; OwnerGroup = $r.OwnerGroup.Name; "
                  "OwnerNode = $r.OwnerNode.Name; State = [string]$r.State; "
                  "DiskIdGuid = ($r | Get-ClusterParameter -Name DiskIdGuid).Value; "
                  "Partitions = @(Get-CimInstance -Namespace root/MSCluster -ClassName MSCluster_Resource "
                  "-Filter \"Name='$($r.Name)'\" | Get-CimAssociatedInstance -ResultClassName MSCluster_Disk "
                  "| Get-CimAssociatedInstance -ResultClassName MSCluster_DiskPartition "
                  "| Select-Object Path, VolumeGuid, VolumeLabel, MountPoints) } } | ConvertTo-Json -Depth 4",
    "aristos": "$f = Get-ChildItem -Path $env:ProgramFiles, ${env:ProgramFiles(x86)} -Filter aristos.cfg "
               "-Recurse -Depth 3 -ErrorAction SilentlyContinue | Select-Object -First 1; "
               "if ($f) { [pscustomobject]@{ Path = $f.FullName; Content = Get-Content -Raw -LiteralPath "
               "$f.FullName } | ConvertTo-Json } else { 'null' }",
}
# Storage and CSV-state cmdlets exist from Server 2012 on; on 2008 R2 their absence is expected.
NOT_ON_2008R2 = ("csv_state", "partitions", "volumes")
GUID = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")

Runner = Callable[[str], tuple[int, str, str]]  # script -> (exit code, stdout, stderr)


class NodeError(Exception):
    """One sentence saying why a node could not be audited."""


def _guid(text: Any) -> str | None:
    m = GUID.search(str(text or ""))
    return m.group(1).lower() if m else None


def _letter(value: Any) -> str | None:
    """A Get-Volume/Get-Partition DriveLetter ("L", null, "\\u0000", or a char code) -> "L" or None."""
    if isinstance(value, int):
        value = chr(value) if value else ""
    value = (value or "").strip("\x00 :\\")
    return value.upper() if len(value) == 1 and value.isalpha() else None


def as_list(data: Any) -> list:
    """ConvertTo-Json prints one object bare and several as an array; null/empty as nothing."""
    if data is None or data == "":
        return []
    return data if isinstance(data, list) else [data]


def _os(data: Any) -> OsInfo | None:
    if not isinstance(data, dict):
        return None
    caption = str(data.get("Caption") or "").removeprefix("Microsoft ").strip()
    parts = str(data.get("Version") or "").split(".")
    major, minor = (int(p) if p.isdigit() else 0 for p in (parts + ["0", "0"])[:2])
    return OsInfo(caption, f"{major}.{minor}", major, minor, str(data.get("BuildNumber") or ""), "", "Server")


def _cluster_info(name: str, csvs: list, role_disks: list) -> ClusterInfo:
    csv_volumes = []
    for c in csvs:
        for info in as_list(c.get("SharedVolumeInfo")):
            friendly = str(info.get("FriendlyVolumeName") or "").rstrip("\\")
            guid = _guid(info.get("VolumeName")) or _guid((info.get("Partition") or {}).get("Name")) or ""
            offset = int(info.get("VolumeOffset") or 0)
            disk_id = _guid(c.get("Id")) or ""
            csv_volumes.append(CsvVolume(friendly.rsplit("\\", 1)[-1] or str(c.get("Name")), f"{disk_id}:{offset}",
                                         str(c.get("Name") or ""), disk_id, offset,
                                         int(info.get("PartitionNumber") or 0), guid, "Online"))
    disks = [ClusterDisk(_guid(d.get("Id")) or "", str(d.get("Name") or ""), _guid(d.get("DiskIdGuid")) or "", "gpt",
                         False, str(d.get("OwnerGroup") or ""), str(d.get("State") or ""),
                         tuple(g for p in as_list(d.get("Partitions")) if (g := _guid(p.get("VolumeGuid")))),
                         tuple(x for p in as_list(d.get("Partitions")) if (x := _letter(p.get("Path")))))
             for d in role_disks]
    return ClusterInfo(name, (), tuple(disks), tuple(csv_volumes))


def _volumes(partitions: list, volumes: list) -> list[Volume]:
    """Get-Volume then Get-Partition rows as models.Volume (letters, GUIDs, labels are what matter here).

    Get-Volume first: its labels name local volumes; Get-Partition adds GUIDs of lettered partitions.
    """
    out = []
    for v in volumes:
        letter = _letter(v.get("DriveLetter"))
        if letter is None:
            continue
        if v.get("DriveType") in (5, "CD-ROM"):
            out.append(Volume(-1, str(v.get("Path") or "CD-ROM"), 0, 0, 0, "", "CD-ROM", None,
                              drive_letters=(letter,)))
            continue
        out.append(Volume(-1, str(v.get("Path") or ""), 0, 0, int(v.get("Size") or 0),
                          str(v.get("FileSystem") or "").lower(), str(v.get("FileSystemLabel") or ""),
                          _guid(v.get("UniqueId") or v.get("Path")), drive_letters=(letter,)))
    for p in partitions:
        letters = {x for x in (_letter(p.get("DriveLetter")), *map(_letter, as_list(p.get("AccessPaths")))) if x}
        guid = _guid(p.get("Guid")) or next((g for a in as_list(p.get("AccessPaths")) if (g := _guid(a))), None)
        out.append(Volume(int(p.get("DiskNumber") or 0), f"disk{p.get('DiskNumber')}p{p.get('PartitionNumber')}",
                          int(p.get("PartitionNumber") or 0), int(p.get("Offset") or 0), int(p.get("Size") or 0),
                          "", "", guid, partition_guid=guid, drive_letters=tuple(sorted(letters))))
    return out


def parse_node(node: str, cluster: str, outputs: Mapping[str, Any],
               history: Sequence[SnapshotRecord] | None) -> NodeInventory:
    """The decoded JSON of every command of one node -> its inventory."""
    info = _cluster_info(cluster, as_list(outputs.get("csvs")), as_list(outputs.get("role_disks")))
    aristos = outputs.get("aristos")
    enable = enable_csv(aristos.get("Content") or "" if isinstance(aristos, dict) else None)
    return build_inventory(node, cluster, "live", _os(outputs.get("os")), enable,
                           _volumes(as_list(outputs.get("partitions")), as_list(outputs.get("volumes"))),
                           (), info, history)


def query_node(node: str, run: Runner) -> dict[str, Any]:
    """Run every command on the node; raise NodeError with one sentence on the first that fails."""
    outputs: dict[str, Any] = {}
    for key, script in COMMANDS.items():
        code, out, err = run(script)
        if code != 0:
            version = (outputs.get("os") or {}).get("Version", "") if isinstance(outputs.get("os"), dict) else ""
            if key in NOT_ON_2008R2 and str(version).startswith("6.1"):
                outputs[key] = None
                continue
            first = (err.strip().splitlines() or [f"exit code {code}"])[0]
            raise NodeError(f"{script.split(' |')[0].split(';')[0]} failed on {node}: {first}")
        try:
            outputs[key] = json.loads(out) if out.strip() else None
        except json.JSONDecodeError:
            raise NodeError(f"{node} returned output for '{key}' that is not JSON.") from None
    return outputs


def _winrm_runner(session: winrm.Session) -> Runner:
    def run(script: str) -> tuple[int, str, str]:
        r = session.run_ps(script)
        return r.status_code, r.std_out.decode("utf-8", "replace"), r.std_err.decode("utf-8", "replace")
    return run


def _endpoint(cluster: Mapping[str, Any], node: str) -> str:
    target = cluster["winrm_endpoints"].get(node, node)
    host, _, port = target.partition(":")
    port = port or ("5986" if cluster["winrm_scheme"] == "https" else "5985")
    return f"{cluster['winrm_scheme']}://{host}:{port}/wsman"


def _credentials(cluster: Mapping[str, Any]) -> tuple[str, str]:
    """(user, password) from the environment variables the config names (Kerberos may use the ticket)."""
    values = []
    for key in ("winrm_username_env", "winrm_password_env"):
        name = cluster[key]
        if not name:
            if cluster["winrm_transport"] == "kerberos":
                values.append("")
                continue
            raise NodeError(f"config.toml: clusters '{cluster['name']}' has no {key}, so no WinRM credentials.")
        if name not in os.environ:
            raise NodeError(f"environment variable {name} (named by {key} of cluster {cluster['name']}) is not set.")
        values.append(os.environ[name])
    return values[0], values[1]


def _why(node: str, url: str, user: str, exc: Exception) -> str:
    if isinstance(exc, InvalidCredentialsError):
        return f"WinRM on {node} ({url}) rejected the credentials of {user or 'the current user'} (HTTP 401)."
    if isinstance(exc, requests.exceptions.SSLError):
        return f"could not reach {node} over WinRM: the TLS certificate of {url} is not trusted."
    if isinstance(exc, requests.exceptions.Timeout):
        return f"could not reach {node} over WinRM: {url} did not answer in time."
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        reason = ("connection refused" if "refused" in text.lower() else "host name not found"
                  if "resolve" in text.lower() or "not known" in text.lower() else "connection failed")
        return f"could not reach {node} over WinRM: {reason} ({url})."
    if isinstance(exc, WinRMTransportError):
        return f"WinRM on {node} ({url}) answered HTTP {exc.code}."
    return f"WinRM on {node} ({url}) failed: {exc}."


def live_node(cluster: Mapping[str, Any], node: str, history: Sequence[SnapshotRecord] | None,
              read_timeout: int = 30) -> NodeInventory:
    """One node's live inventory; raises NodeError (one sentence) when it cannot be had."""
    url = _endpoint(cluster, node)
    user, password = _credentials(cluster)
    try:
        session = winrm.Session(url, auth=(user, password), transport=cluster["winrm_transport"],
                                server_cert_validation="validate" if cluster["winrm_verify_tls"] else "ignore",
                                # explicit: an internal CA named the requests way; WinRM never goes via a proxy
                                ca_trust_path=os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"),
                                proxy=None,
                                read_timeout_sec=read_timeout, operation_timeout_sec=max(1, read_timeout - 10))
        outputs = query_node(node, _winrm_runner(session))
    except (WinRMError, WinRMTransportError, requests.exceptions.RequestException) as exc:
        raise NodeError(_why(node, url, user, exc)) from None
    try:
        return parse_node(node, cluster["name"], outputs, history)
    except (AttributeError, TypeError, ValueError) as exc:  # JSON of another shape than the cmdlets print
        raise NodeError(f"{node} returned cmdlet output of an unexpected shape ({exc}).") from None


def live_inventories(clusters: Sequence[Mapping[str, Any]],
                     history: Mapping[str, Sequence[SnapshotRecord]] | None = None) -> Inventories:
    """Every node of every configured cluster; `history` (node -> snapshots) comes from the database."""
    nodes, failures = [], []
    for cluster in clusters:
        for node in cluster["nodes"]:
            try:
                nodes.append(live_node(cluster, node, None if history is None else history.get(node, ())))
            except NodeError as exc:
                failures.append(NodeFailure(cluster["name"], node, str(exc)))
    return Inventories(tuple(nodes), tuple(failures))
