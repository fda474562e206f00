"""The JSON API under ``/api/``: the same relations, rights, audit and cache as the pages.

Generated from the same reflection as the table views and enforcing the same rules: a call
may do exactly what its operator may do on the pages (and an API token may narrow that
further, :mod:`dashboard.security.tokens`); read-only mode, the audit log and the listing
cache's invalidation apply alike. Every error is a problem details body
(:mod:`dashboard.problems`).

May import: Flask and its kin, :mod:`dashboard.web`, :mod:`dashboard.security`,
:mod:`dashboard.db`, :mod:`dashboard.i18n`, :mod:`dashboard.statedb` and the shared
modules. Not :mod:`dashboard.plugins`, :mod:`dashboard.cli` nor :mod:`dashboard.app`,
which sit above it; :mod:`dashboard.web` and :mod:`dashboard.security` never import it.
"""
