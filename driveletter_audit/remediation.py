"""The remediation plan: one target letter per CSV (and per role disk lacking one) and per-node PowerShell.

Target: the most used existing letter if it is free on every node, else the first letter from D:
free on every node; never a letter already planned for another volume. `apply_plan` changes
inventories as the PowerShell would, so a test (or a what-if) can re-audit the result.
"""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass, replace

from driveletter_audit import powershell as ps
from driveletter_audit.inventory import LetterUse, NodeInventory
from driveletter_audit.rules import ClusterView

FIRST_FREE = string.ascii_uppercase[3:]  # D..Z: A/B are floppies, C the system volume


@dataclass(frozen=True)
class LetterChange:
    """On `node`, give volume `name` the letter `letter` (removing `old`)."""

    node: str
    kind: str  # "csv" | "shared"
    name: str
    volume_guid: str
    old: tuple[str, ...]
    letter: str
    move: str  # PowerShell that brings the volume to the node first ("" when not needed)


@dataclass(frozen=True)
class RemediationPlan:
    targets: tuple[tuple[str, str], ...]  # (volume name, letter)
    changes: tuple[LetterChange, ...]
    unresolved: tuple[str, ...] = ()  # sentences: volumes no letter could be found for

    def powershell(self) -> dict[str, str]:
        """Node -> script applying its changes."""
        out: dict[str, list[str]] = {}
        for c in self.changes:
            out.setdefault(c.node, []).extend(_ps_lines(c))
        return {node: "\n".join(lines) + "\n" for node, lines in sorted(out.items())}

    def to_json(self) -> dict:
        return {"letters": dict(self.targets), "powershell": self.powershell(), "unresolved": list(self.unresolved)}


def _ps_lines(c: LetterChange) -> list[str]:
    """The change as PowerShell; every value from a snapshot goes through `ps` (raises ps.UnsafeName)."""
    part = f"Get-Partition | Where-Object {{ $_.Guid -eq {ps.guid(c.volume_guid)} }}"
    new = ps.letter(c.letter)
    lines = [f"Write-Output {ps.literal(f'{c.name} -> {new}:')}"]
    if c.move:
        lines.append(c.move)
    if c.old:
        lines.append(f"{part} | Set-Partition -NewDriveLetter {new}")
        lines += [f"{part} | Remove-PartitionAccessPath -AccessPath {ps.literal(ps.letter(x) + ':' + chr(92))}"
                  for x in c.old[1:]]
    else:
        lines.append(f"{part} | Add-PartitionAccessPath -AccessPath {ps.literal(new + ':' + chr(92))}")
    return lines


def _free(view: ClusterView, kind: str, name: str, letter: str) -> bool:
    return all((u := n.user_of(letter)) is None or (u.kind, u.name) == (kind, name) for n in view.nodes)


def _target(view: ClusterView, kind: str, name: str, planned: set[str]) -> str | None:
    nodes = view.letter_nodes if kind == "csv" else view.nodes
    used = Counter(x for n in nodes for x in n.letters_of(kind, name))
    ranked = [x for x, _ in sorted(used.items(), key=lambda kv: (-kv[1], kv[0]))]
    for letter in [*ranked, *FIRST_FREE]:
        if letter not in planned and _free(view, kind, name, letter):
            return letter
    return None


def plan_remediation(view: ClusterView) -> RemediationPlan:
    """One letter per CSV and role disk; changes only on nodes whose letters differ from it."""
    targets, changes, unresolved, planned = [], [], [], set()
    volumes = [("csv", c.name, c.volume_guid, c.disk_name or c.name) for c in view.csvs]
    volumes += [("shared", d.name, d.volume_guids[0] if d.volume_guids else "", d.group) for d in view.shared_disks
                if len({n.letters_of("shared", d.name) for n in view.nodes}) > 1 or not view.nodes[0].letters_of(
                    "shared", d.name)]  # role disks only when their letter is missing or differs
    for kind, name, guid, resource in volumes:
        nodes = view.letter_nodes if kind == "csv" else view.nodes
        if not nodes:
            continue  # only 2008 R2 nodes: letters are impossible (legacy-2008r2-csv says so)
        letter = _target(view, kind, name, planned)
        if letter is None:
            unresolved.append(f"no drive letter is free on every node of {view.name} for {name}.")
            continue
        planned.add(letter)
        targets.append((name, letter))
        for n in nodes:
            old = n.letters_of(kind, name)
            if old == (letter,):
                continue
            try:
                move = (ps.move_csv(resource, n.node) if kind == "csv"
                        else ps.move_group(resource, n.node) if resource else "")
                change = LetterChange(n.node, kind, name, guid, tuple(sorted(old, key=lambda x: x != letter)),
                                      letter, move)
                _ps_lines(change)
            except ps.UnsafeName as exc:
                unresolved.append(f"{ascii(name)[1:-1]} on {ascii(n.node)[1:-1]}: {exc} Change its letter by hand.")
                continue
            changes.append(change)
    return RemediationPlan(tuple(targets), tuple(changes), tuple(unresolved))


def apply_plan(nodes: tuple[NodeInventory, ...], plan: RemediationPlan) -> tuple[NodeInventory, ...]:
    """The inventories as they would be after running the plan's PowerShell on every node."""
    out = []
    for inv in nodes:
        letters = list(inv.letters)
        for c in (c for c in plan.changes if c.node == inv.node):
            letters = [u for u in letters if not (u.kind == c.kind and u.name == c.name)]
            letters.append(LetterUse(c.letter, c.kind, c.name))
        out.append(replace(inv, letters=tuple(sorted(letters, key=lambda u: u.letter))))
    return tuple(out)
