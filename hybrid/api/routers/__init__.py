"""The REST routers under ``/api/v1``, one per resource; importing them registers their operations."""

from hybrid.api.routers import (
    actions,
    analysis,
    chain,
    fill_stats,
    groups,
    health,
    leg_templates,
    orders,
    reports,
    risk,
    strategies,
    templates,
)

ROUTERS = tuple(
    module.router
    for module in (
        strategies,
        chain,
        analysis,
        orders,
        groups,
        templates,
        leg_templates,
        actions,
        fill_stats,
        reports,
        risk,
        health,
    )
)
