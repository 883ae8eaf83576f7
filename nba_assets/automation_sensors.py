"""Automation condition sensors: ``automation_<group>`` evaluate the ``AutomationCondition`` of each
phase separately (``default_status=RUNNING``), so one slow evaluation does not hold the others back."""

from __future__ import annotations

import dagster as dg

from nba_assets.automation import EDGE_GROUPS


def build_automation_sensors(
    defs: dg.Definitions, *, interval: int = 30, per_phase: bool = True
) -> list[dg.AutomationConditionSensorDefinition]:
    """One automation condition sensor per phase (asset group) outside the edge, RUNNING by default
    (``per_phase=False``: one sensor for every phase, ``automation_all``, so a cascade is requested
    in fewer ticks and runs). A sensor whose conditions are custom (not serializable: those that
    read the clock) is evaluated in the code server."""
    graph = defs.resolve_asset_graph()
    groups: dict[str, list[dg.AssetKey]] = {}
    custom: set[str] = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.automation_condition is None or node.group_name in EDGE_GROUPS:
            continue
        groups.setdefault(node.group_name, []).append(key)
        if not node.automation_condition.is_serializable:
            custom.add(node.group_name)
    if not per_phase:
        return [
            dg.AutomationConditionSensorDefinition(
                "automation_all",
                target=dg.AssetSelection.groups(*sorted(groups)),
                default_status=dg.DefaultSensorStatus.RUNNING,
                use_user_code_server=bool(custom),
                minimum_interval_seconds=interval,
                description=f"Evaluates the automation conditions of every phase ({sum(map(len, groups.values()))} "
                "assets).",
            )
        ]
    return [
        dg.AutomationConditionSensorDefinition(
            f"automation_{group}",
            target=dg.AssetSelection.groups(group),
            default_status=dg.DefaultSensorStatus.RUNNING,
            use_user_code_server=group in custom,
            minimum_interval_seconds=interval,
            description=f"Evaluates the automation conditions of the {group} phase ({len(keys)} assets).",
        )
        for group, keys in sorted(groups.items())
    ]
