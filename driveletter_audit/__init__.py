"""Drive-letter and CSV compliance across cluster nodes: pure rules over node inventories.

Build `NodeInventory`s (inventory.from_inspections / from_store, live.live_inventories), then
`audit_clusters(inventories, configured, failures)` -> `AuditResult` (`.to_json()` is the
docs/cli.md JSON plus "seeding" and "remediation"). Rules live in rules.RULES.
"""

from driveletter_audit.audit import AuditResult, ClusterAudit, audit_clusters
from driveletter_audit.inventory import NodeFailure, NodeInventory, from_inspections, from_store

__all__ = ["AuditResult", "ClusterAudit", "NodeFailure", "NodeInventory", "audit_clusters", "from_inspections",
           "from_store"]
