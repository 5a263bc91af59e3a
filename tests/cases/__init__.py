"""Shared tables of HuleEduService documents, used by the unit and integration tiers.

``valid_resources`` is the render matrix (golden files, server-side dry-runs);
``invalid_resources`` is the table of mistakes the model and the API server must reject.
"""
