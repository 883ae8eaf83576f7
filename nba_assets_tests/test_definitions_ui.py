"""The UI as its users meet it: every asset says what it is, what computes it and where it lives."""

from __future__ import annotations

import tomllib

import dagster as dg
import pytest

from .conftest import REPO, lake_settings

STORAGE_KINDS = {"parquet", "bigquery", "json", "file", "gcs", "matplotlib", "lightgbm", "xgboost"}


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    from nba_assets.definitions import build_definitions

    return build_definitions(settings=lake_settings(tmp_path_factory.mktemp("lake")))


def test_every_asset_has_kinds_and_a_description(defs) -> None:
    specs = list(defs.resolve_all_asset_specs())
    assert len(specs) >= 27
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.description and len(spec.description) > 40, name
        assert spec.kinds & STORAGE_KINDS, (name, spec.kinds)
        assert 1 <= len(spec.kinds) <= 3, (name, spec.kinds)  # Dagster shows at most three
    by_key = {s.key.to_user_string(): s.kinds for s in specs}
    assert "lightgbm" in by_key["nba_predictions/points_model_lightgbm"]
    assert "xgboost" in by_key["nba_predictions/points_model_xgboost"]
    assert by_key["nba_analytics/player_game_summary"] == {"polars", "parquet"}
    assert "json" in by_key["exports/predictions_json"]


def test_bigquery_backend_shows_bigquery_kinds() -> None:
    from nba_assets.definitions import kinds_for

    spec = dg.AssetSpec(["nba_analytics", "player_game_summary"])
    assert kinds_for(spec, "bigquery") == {"polars", "bigquery"}
    assert kinds_for(spec, "local") == {"polars", "parquet"}


def test_the_code_location_is_named_after_the_project() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert config["tool"]["dg"]["project"]["code_location_name"] == "nba_props"


def test_every_asset_comes_from_the_defs_folder(defs) -> None:
    """The domains are loaded by ``dg.load_from_defs_folder`` from ``nba_assets/defs/<domain>/`` (where
    ``dg scaffold defs`` writes): nothing in the graph is registered elsewhere."""
    from nba_assets.definitions import domain_definitions

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    assert config["defs_module"] == "nba_assets.defs"
    domains = sorted(p.parent.name for p in (REPO / "nba_assets" / "defs").glob("*/definitions.py"))
    assert {"ingest", "raw", "analytics", "precompute", "models", "predictions", "grading", "exports"} <= set(domains)
    loaded = {key for assets in domain_definitions().assets for key in assets.keys}
    assert loaded == defs.resolve_asset_graph().get_all_asset_keys()
    assert set(defs.resources) >= {"lake", "io_manager", "model_store", "apis", "clock", "raw_checks"}
