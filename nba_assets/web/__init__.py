"""The web front end: static pages that read only the JSON exports (``exports/v1/``).

``python -m nba_assets.web`` (``make web``) serves the pages and, under ``/v1/``, the export files
of ``$NBA_LAKE_DIR/exports/v1/`` (or of a base URL, e.g. the GCS bucket's public exports). The
pages compute nothing from raw rows: every figure they show is a field of an export document.
"""
