"""Grid cells and patrol zones: zone figures, redesign proposals, patrol plans and the effect of
a past change. Zone functions take workload per cell as data (see :mod:`grid.workload`)."""

from grid.adjacency import CellGraph, cell_graph
from grid.changes import ChangeReport, change_report
from grid.effect import ChangeEffect, change_effect
from grid.export import export_proposal, proposed_zones_layer
from grid.membership import NO_ZONE, ZoneMembership, zone_membership
from grid.metrics import balance_figures, plan_summary, zone_metrics
from grid.plan import PatrolPlan, patrol_plan, patrol_windows
from grid.redesign import Proposal, propose_zones
from grid.workload import cell_workload, incident_weights

__all__ = [
    "NO_ZONE",
    "CellGraph",
    "ChangeEffect",
    "ChangeReport",
    "PatrolPlan",
    "Proposal",
    "ZoneMembership",
    "balance_figures",
    "cell_graph",
    "cell_workload",
    "change_effect",
    "change_report",
    "export_proposal",
    "incident_weights",
    "patrol_plan",
    "patrol_windows",
    "plan_summary",
    "propose_zones",
    "proposed_zones_layer",
    "zone_membership",
    "zone_metrics",
]
