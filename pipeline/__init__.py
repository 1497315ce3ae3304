"""Wiredesk: RSS/Atom feeds in, deduplicated and labelled wire stories out, in PostgreSQL.

One module per stage: ``fetch`` -> ``parse`` (and ``normalise``) -> ``dedup`` ->
``store``; ``ingest`` runs one cycle over them. Nothing here imports Airflow.
"""

__version__ = "0.1.0"

import os as _os

# Every model comes from a local directory (site-packages or models/): never let
# transformers or sentence-transformers try the Hugging Face Hub.
_os.environ.setdefault("HF_HUB_OFFLINE", "1")
