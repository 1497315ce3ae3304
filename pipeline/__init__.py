"""Wiredesk: RSS/Atom feeds in, deduplicated and labelled wire stories out, in PostgreSQL.

One module per stage: ``fetch`` -> ``parse`` (and ``normalise``) -> ``dedup`` ->
``store``; ``ingest`` runs one cycle over them. Nothing here imports Airflow.
"""

__version__ = "0.1.0"
