"""The lake resource: the one way to storage.

``Lake`` is a ``dg.ConfigurableResource`` configured once, in the definitions (``config.Settings``).
Its fields and methods are ``lake_access.LakeAccess``'s (tables, models, landing/exports/reports
objects; see there), which a command outside a run uses without importing Dagster.

Assets name the resource (``lake: Lake``); nothing in the package finds the lake through the
environment.
"""

from __future__ import annotations

import dagster as dg

from nba_assets.lake_access import BACKENDS, EXPORTS_PREFIX, OBJECT_STORES, WINDOW_CACHE_BYTES, LakeAccess

__all__ = ["BACKENDS", "EXPORTS_PREFIX", "OBJECT_STORES", "WINDOW_CACHE_BYTES", "Lake", "LakeAccess"]


class Lake(dg.ConfigurableResource, LakeAccess):
    """The lake as a resource: ``LakeAccess``'s configuration and methods, configured in the
    definitions and named by the assets, sensors and IO managers."""
