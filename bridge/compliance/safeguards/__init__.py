"""Compliance evidence on demand: the HIPAA safeguards, each with a live check.

`facts` (pure data) is gathered by `gather` (the only I/O: configuration files, database
queries, `archive verify`, Synapse's admin API); the check modules (`access`, `integrity`,
`authentication`, `transmission`, `administrative`) turn facts into rows without I/O; the
renderers turn rows into a table, JSON (`SCHEMA_VERSION`) or one printable HTML page.
45 CFR 164.308(a)(1)(ii)(A) risk analysis; 164.316(b)(1) documentation.
"""

from __future__ import annotations
