"""The audit rules: small registered functions over one cluster's node inventories.

Each rule has a stable id declared in autoverify/findings.py (which gives its severity and
default remedy) and a docstring saying what it protects against; it yields `models.Finding`s
(check = rule id). A rule that does not apply yields nothing. Register a rule with `@rule(id)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from autoverify import findings
from autoverify.models import Finding
from driveletter_audit.inventory import CsvRef, NodeInventory, SharedDiskRef


@dataclass(frozen=True)
class ClusterView:
    """One cluster as the rules see it: its inventories and the union of its CSVs and role disks."""

    name: str
    nodes: tuple[NodeInventory, ...]

    @property
    def csvs(self) -> tuple[CsvRef, ...]:
        seen: dict[str, CsvRef] = {}
        for inv in self.nodes:
            for c in inv.csvs:
                seen.setdefault(c.name, c)
        return tuple(sorted(seen.values(), key=lambda c: c.name))

    @property
    def shared_disks(self) -> tuple[SharedDiskRef, ...]:
        seen: dict[str, SharedDiskRef] = {}
        for inv in self.nodes:
            for d in inv.shared_disks:
                seen.setdefault(d.name, d)
        return tuple(sorted(seen.values(), key=lambda d: d.name))

    @property
    def letter_nodes(self) -> tuple[NodeInventory, ...]:
        """Nodes that can give a CSV a letter (not Server 2008 R2)."""
        return tuple(n for n in self.nodes if not n.is_2008r2)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: Callable[[ClusterView], Iterator[Finding]]

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()


RULES: dict[str, Rule] = {}

# Findings that come from the audit's sources rather than from a rule (declared in autoverify/findings.py).
SOURCE_FINDINGS = {i: (findings.severity(i), findings.kind(i).doc) for i in ("node-not-audited",)}


def rule(rule_id: str) -> Callable[[Callable[[ClusterView], Iterator[Finding]]], Rule]:
    """Register a rule under an id declared in autoverify/findings.py (which gives its severity)."""
    def register(func: Callable[[ClusterView], Iterator[Finding]]) -> Rule:
        if rule_id in RULES:
            raise ValueError(f"audit rule {rule_id!r} registered twice")
        RULES[rule_id] = Rule(rule_id, findings.severity(rule_id), func)
        return RULES[rule_id]
    return register


def finding(rule_id: str, message: str, remedy: str, node: str | None = None, volume: str | None = None,
            severity: str | None = None) -> Finding:
    return findings.make(rule_id, message, severity=severity, remedy=remedy, node=node, volume=volume)


def _letters(letters: tuple[str, ...]) -> str:
    return ", ".join(f"{x}:" for x in letters)


def _csv_letters(view: ClusterView, csv: CsvRef) -> dict[str, tuple[str, ...]]:
    return {n.node: n.letters_of("csv", csv.name) for n in view.letter_nodes}


@rule("csv-no-letter")
def csv_no_letter(view: ClusterView) -> Iterator[Finding]:
    """A CSV with no drive letter on any node (2012+): the vendor's AutoVerify does not check it and it is
    not browsable after virtualisation. (When some nodes have a letter, csv-letter-partial says so instead.)"""
    for csv in view.csvs:
        letters = _csv_letters(view, csv)
        if letters and not any(letters.values()):
            for node in letters:
                yield finding("csv-no-letter", f"CSV {csv.name} has no drive letter on {node}, so backup "
                              "verification skips it and it is not browsable after virtualisation.",
                              f"Give {csv.name} the same drive letter on every node (see the remediation plan).",
                              node, csv.name)


@rule("csv-letter-mismatch")
def csv_letter_mismatch(view: ClusterView) -> Iterator[Finding]:
    """The nodes that give a CSV a letter do not agree on it: after a failover the volume changes letter and
    each node's backup shows it under another letter."""
    for csv in view.csvs:
        lettered = {n: ls for n, ls in _csv_letters(view, csv).items() if ls}
        if len(set(lettered.values())) > 1:
            where = "; ".join(f"{n} {_letters(ls)}" for n, ls in sorted(lettered.items()))
            yield finding("csv-letter-mismatch", f"CSV {csv.name} has different drive letters on the nodes ({where}).",
                          f"Give {csv.name} one drive letter on every node (see the remediation plan).",
                          None, csv.name)


@rule("csv-letter-partial")
def csv_letter_partial(view: ClusterView) -> Iterator[Finding]:
    """A CSV has a letter on some nodes only: while attached to a node without one, its backups go
    unverified and unbrowsable."""
    for csv in view.csvs:
        letters = _csv_letters(view, csv)
        if any(letters.values()):
            for node, ls in letters.items():
                if not ls:
                    yield finding("csv-letter-partial", f"CSV {csv.name} has a drive letter on other nodes but "
                                  f"none on {node}.", f"Assign {csv.name} its letter on {node} too "
                                  "(see the remediation plan).", node, csv.name)


def _claimed(view: ClusterView) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(kind, name, letters it holds on any node) for every CSV and role disk."""
    for kind, refs in (("csv", view.csvs), ("shared", view.shared_disks)):
        for ref in refs:
            yield kind, ref.name, tuple(sorted({x for n in view.nodes for x in n.letters_of(kind, ref.name)}))


@rule("letter-collision")
def letter_collision(view: ClusterView) -> Iterator[Finding]:
    """A letter a CSV or role disk uses on some node is taken by another volume on this node, which blocks
    giving the volume one consistent letter (and may hide it when it moves here)."""
    for kind, name, letters in _claimed(view):
        for node in view.nodes:
            taken = [(x, u) for x in letters if (u := node.user_of(x)) and (u.kind, u.name) != (kind, name)]
            if taken:
                what = "; ".join(f"{x}: is {u.name} ({u.kind})" for x, u in taken)
                yield finding("letter-collision", f"On {node.node}, the letter {_letters(tuple(x for x, _ in taken))} "
                              f"of {name} is taken by another volume ({what}).",
                              f"Give {name} a letter free on every node, or move the other volume on "
                              f"{node.node} to another letter.", node.node, name)


@rule("shared-disk-no-letter")
def shared_disk_no_letter(view: ClusterView) -> Iterator[Finding]:
    """A role shared disk without a letter on a node: not verified by the vendor and not browsable."""
    for disk in view.shared_disks:
        for node in view.nodes:
            if not node.letters_of("shared", disk.name):
                yield finding("shared-disk-no-letter", f"Shared disk {disk.name} has no drive letter on {node.node}.",
                              f"Assign {disk.name} a drive letter in Failover Cluster Manager (Change Drive Letter); "
                              "the cluster keeps it on every node.", node.node, disk.name)


@rule("enable-csv-missing")
def enable_csv_missing(view: ClusterView) -> Iterator[Finding]:
    """The cluster has CSVs and the node's agent config lacks ENABLE_CSV=true: the node never backs up a CSV."""
    if not view.csvs:
        return
    for node in view.nodes:
        if node.enable_csv is not True:
            why = "has no aristos.cfg" if node.enable_csv is None else "has no line ENABLE_CSV=true in aristos.cfg"
            yield finding("enable-csv-missing", f"{node.node} {why}, so its backups never include the cluster's CSVs.",
                          f"Stop the backup agent service on {node.node}, add the line ENABLE_CSV=true to aristos.cfg "
                          "in the agent's install folder, and start the service again.", node.node, None)


@rule("legacy-2008r2-csv")
def legacy_2008r2_csv(view: ClusterView) -> Iterator[Finding]:
    """A Windows Server 2008 R2 node with CSVs: a CSV cannot get a letter there, FastDelta is unavailable,
    and a leftover shadow copy locks the CSV; the vendor does not recommend CSV backup on 2008 R2."""
    for node in view.nodes:
        if node.is_2008r2:
            for csv in view.csvs:
                yield finding("legacy-2008r2-csv", f"{node.node} runs Windows Server 2008 R2 with CSV {csv.name}: "
                              "it cannot get a drive letter, FastDelta is unavailable and CSV backup is not "
                              "recommended.", f"Upgrade {node.node} to Windows Server 2012 or newer, or back up "
                              "the virtual machines on the CSV with their own agents.", node.node, csv.name)


@rule("csv-never-captured")
def csv_never_captured(view: ClusterView) -> Iterator[Finding]:
    """No snapshot of this node ever held this CSV: its backup set is incomplete (a seed from it lacks it)."""
    for node in view.nodes:
        if node.history is None:
            continue
        held = {c for h in node.history for c in h.csvs}
        for csv in view.csvs:
            if csv.name not in held:
                yield finding("csv-never-captured", f"No snapshot of {node.node} holds CSV {csv.name}.",
                              f"Move {csv.name} to {node.node} and run a backup of {node.node}.", node.node, csv.name)


def run_rules(view: ClusterView) -> tuple[Finding, ...]:
    return tuple(f for r in RULES.values() for f in r.check(view))
