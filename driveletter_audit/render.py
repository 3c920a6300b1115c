"""The readable text output: per cluster a letters table, the findings, seeding and the plan."""

from __future__ import annotations

from collections.abc import Sequence

from driveletter_audit.audit import AuditResult, ClusterAudit


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, widths from the content."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*header).rstrip(), line.format(*("-" * w for w in widths)).rstrip(),
            *(line.format(*map(str, r)).rstrip() for r in rows)]


def _letters_table(c: ClusterAudit) -> list[str]:
    nodes = list(c.audited)
    rows = [[v.name, *(", ".join(f"{x}:" for x in dict(v.letters_by_node).get(n, ())) or "-" for n in nodes)]
            for v in c.volumes]
    return table(["CSV", *nodes], rows) if rows else ["(no CSV)"]


def _findings(c: ClusterAudit) -> list[str]:
    if not c.findings:
        return ["No findings: every CSV and shared disk has one letter on every node."]
    rows = [[f.severity.upper(), f.check, f.node or "(all)", f.volume or "-", f.message] for f in c.findings]
    lines = table(["SEVERITY", "RULE", "NODE", "VOLUME", "MESSAGE"], rows)
    remedies = dict.fromkeys(f.remedy for f in c.findings if f.remedy)
    return [*lines, "", "What to do:", *(f"  - {r}" for r in remedies)]


def _seeding(c: ClusterAudit) -> list[str]:
    lines = ["Seeding readiness:"]
    for s in c.seeding:
        if s.ready:
            lines.append(f"  {s.node}: ready; base snapshot: {s.base_snapshots[0]} or newer "
                         f"({len(s.base_snapshots)} usable)")
        else:
            lines.append(f"  {s.node}: NOT ready" + (f"; never captured: {', '.join(s.missing)}" if s.missing else ""))
            lines += [f"    {i}. {step}" for i, step in enumerate(s.steps, 1)]
    return lines


def _plan(c: ClusterAudit) -> list[str]:
    plan = c.remediation
    if not plan.targets and not plan.unresolved:
        return []
    lines = ["Remediation plan (target letters): " + ", ".join(f"{n} -> {x}:" for n, x in plan.targets)]
    lines += [f"  ! {u}" for u in plan.unresolved]
    for node, script in plan.powershell().items():
        lines += [f"  PowerShell on {node}:", *(f"    {x}" for x in script.splitlines())]
    return lines


def render_text(result: AuditResult, before_seeding: bool = False) -> str:
    out = [f"Drive-letter audit ({result.source}, {result.audited_at})"]
    for c in result.clusters:
        out += ["", f"Cluster {c.name}: nodes {', '.join(c.nodes)}"]
        out += [f"  {n}: {src}" for n, src in c.sources]
        out += ["", *_letters_table(c), "", *_findings(c)]
        if before_seeding:
            out += ["", *_seeding(c)]
        plan = _plan(c)
        out += ["", *plan] if plan else []
    verdict = ("compliant" if result.compliant else "could not audit every cluster" if result.could_not_audit
               else f"{sum(len(c.findings) for c in result.clusters)} finding(s)")
    return "\n".join([*out, "", f"Result: {verdict}."]) + "\n"
