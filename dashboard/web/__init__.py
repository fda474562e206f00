"""The web layer: Flask-Admin views and everything a page needs.

- :mod:`~dashboard.web.site`: one view per reflected relation, registered with ``Admin``
  (what one app serves, ``DashboardState``, and its accessor ``current_site()`` are in
  :mod:`dashboard.site_state`, below every layer, since security reads it too).
- :mod:`~dashboard.web.table_view`: the list, details, create, edit, delete and export of a
  table, with :mod:`~dashboard.web.forms`, :mod:`~dashboard.web.filters`,
  :mod:`~dashboard.web.lookups` (foreign-key pickers), :mod:`~dashboard.web.rendering`,
  :mod:`~dashboard.web.links` (related rows), :mod:`~dashboard.web.export` (CSV),
  :mod:`~dashboard.web.keys` (row keys in URLs), :mod:`~dashboard.web.references` and
  :mod:`~dashboard.web.violations` (refused writes explained), :mod:`~dashboard.web.labels`
  and :mod:`~dashboard.web.table_options` (what the settings say of a table),
  :mod:`~dashboard.web.plugin_actions` (where plugins' row and table actions show and are
  routed) and :mod:`~dashboard.web.lookup_field` (a table's row lookup, and the field plugin
  forms choose a row with).
- :mod:`~dashboard.web.caching`: the listing cache over Flask-Caching.
- :mod:`~dashboard.web.home`, :mod:`~dashboard.web.navigation` (the table finder),
  :mod:`~dashboard.web.errors` (error pages), :mod:`~dashboard.web.unavailable` (the
  database is gone), :mod:`~dashboard.web.submissions` (a form posted twice),
  :mod:`~dashboard.web.routing`.

May import: Flask, Flask-Admin and their kin, :mod:`dashboard.db`, :mod:`dashboard.i18n`,
:mod:`dashboard.security`, :mod:`dashboard.statedb` and the shared modules. Not
:mod:`dashboard.plugins` nor :mod:`dashboard.cli`, which sit above it (the site takes the
plugins' table options as arguments); :mod:`dashboard.db` never imports this layer.
"""
