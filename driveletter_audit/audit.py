"""`audit_clusters`: group node inventories by cluster, run every rule, add seeding and the plan.

Pure: the sources (store, WinRM) build the inventories, the CLI stores and prints the result.
The result serialises to docs/cli.md's JSON plus "seeding" and "remediation" per cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from autoverify.models import Finding
from driveletter_audit.inventory import NodeFailure, NodeInventory
from driveletter_audit.remediation import RemediationPlan, plan_remediation
from driveletter_audit.rules import ClusterView, finding, run_rules
from driveletter_audit.seeding import NodeSeeding, cluster_seeding


@dataclass(frozen=True)
class VolumeLetters:
    csv_id: str
    name: str
    letters_by_node: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ClusterAudit:
    name: str
    nodes: tuple[str, ...]  # configured (or seen) nodes
    audited: tuple[str, ...]  # nodes an inventory was available for
    volumes: tuple[VolumeLetters, ...]
    findings: tuple[Finding, ...]
    seeding: tuple[NodeSeeding, ...]
    remediation: RemediationPlan
    sources: tuple[tuple[str, str], ...] = ()  # node -> where its inventory came from

    def to_json(self) -> dict:
        return {
            "name": self.name, "nodes": list(self.nodes), "audited_nodes": list(self.audited),
            "sources": dict(self.sources),
            "volumes": [{"csv_id": v.csv_id, "name": v.name,
                         "letters_by_node": {n: list(ls) for n, ls in v.letters_by_node}} for v in self.volumes],
            "findings": [{"rule": f.check, "severity": f.severity, "node": f.node, "volume": f.volume,
                          "message": f.message, "remedy": f.remedy} for f in self.findings],
            "seeding": {s.node: s.to_json() for s in self.seeding},
            "remediation": self.remediation.to_json(),
        }


@dataclass(frozen=True)
class AuditResult:
    clusters: tuple[ClusterAudit, ...]
    audited_at: str
    source: str  # "offline" | "live"

    @property
    def compliant(self) -> bool:
        return not any(c.findings for c in self.clusters)

    @property
    def could_not_audit(self) -> bool:
        """No cluster at all, or a cluster none of whose nodes could be looked at."""
        return not self.clusters or any(not c.audited for c in self.clusters)

    def to_json(self) -> dict:
        return {"audited_at": self.audited_at, "source": self.source,
                "clusters": [c.to_json() for c in self.clusters]}


def _not_audited(failure: NodeFailure) -> Finding:
    return finding("node-not-audited", failure.reason, f"Make {failure.node} reachable (WinRM, credentials) "
                   "or verify its snapshots, then audit again.", failure.node, None)


def audit_cluster(name: str, nodes: Sequence[NodeInventory], configured: Sequence[str] = (),
                  failures: Sequence[NodeFailure] = ()) -> ClusterAudit:
    """Audit one cluster; configured nodes with neither inventory nor failure become node-not-audited."""
    view = ClusterView(name, tuple(sorted(nodes, key=lambda n: n.node)))
    seen = {n.node for n in view.nodes} | {f.node for f in failures}
    failures = [*failures, *(NodeFailure(name, n, f"no inspected snapshot of {n} (cluster {name}) is in the "
                                                   "database.") for n in configured if n not in seen)]
    findings = (*(_not_audited(f) for f in sorted(failures, key=lambda f: f.node)), *run_rules(view))
    volumes = tuple(VolumeLetters(c.csv_id, c.name, tuple((n.node, n.letters_of("csv", c.name)) for n in view.nodes))
                    for c in view.csvs)
    all_nodes = tuple(dict.fromkeys([*configured, *sorted(seen)]))
    return ClusterAudit(name, all_nodes, tuple(n.node for n in view.nodes), volumes, findings,
                        cluster_seeding(view.nodes, view.csvs), plan_remediation(view),
                        tuple((n.node, n.source) for n in view.nodes))


def audit_clusters(inventories: Iterable[NodeInventory], configured: Mapping[str, Sequence[str]] | None = None,
                   failures: Iterable[NodeFailure] = (), audited_at: str = "", source: str = "offline") -> AuditResult:
    """Audit every cluster named by `configured` (cluster -> node names), else every cluster seen."""
    invs, fails = list(inventories), list(failures)
    names = list(configured) if configured is not None else sorted({i.cluster for i in invs} | {f.cluster for f in fails})
    clusters = tuple(audit_cluster(n, [i for i in invs if i.cluster == n], (configured or {}).get(n, ()),
                                   [f for f in fails if f.cluster == n]) for n in names)
    return AuditResult(clusters, audited_at, source)
