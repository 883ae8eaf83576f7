"""The code location's domains, loaded whole by ``dg.load_from_defs_folder`` (see
``nba_assets/definitions.py``): one folder per domain, each with a ``definitions.py`` returning
that domain's ``dg.Definitions``. The asset functions live in ``nba_assets/assets/``; the
resources, the automation and the sensors are wired over the whole graph by the definitions.
``dg scaffold defs dagster.asset <domain>/<file>.py`` adds a file here that is picked up as is.
"""
