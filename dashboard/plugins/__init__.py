"""Plugins: finding and loading them, applying their hooks, and the features built as plugins.

- :mod:`~dashboard.plugins.loader`: built-in plugins, the ``plugins/`` folder and installed
  packages, loaded with pluggy; a plugin that fails is reported, never fatal.
- :mod:`~dashboard.plugins.hooks`: what the hooks' answers do to the app (pages, charts,
  menu links, bulk actions, table options, template variables).
- :mod:`~dashboard.plugins.actions` and :mod:`~dashboard.plugins.blocks`: the extension points
  of the core pages (row and table actions with their forms, template blocks in named slots).
- :mod:`~dashboard.plugins.runtime`: what a plugin's code meets while the app runs
  (reporting a failure, who may read it, the URL of its static files).
- :mod:`~dashboard.plugins.listing`: what each plugin adds, in words, and its state, for
  ``dashboard plugins`` and the Plugins page.
- :mod:`~dashboard.plugins.charting`: the chart engine behind :class:`dashboard.charts.Chart`
  (checking, the aggregate per dialect, computing, panels), and
  :mod:`~dashboard.plugins.recency` (whether a chart's window holds any row).
- :mod:`~dashboard.plugins.write_api`: what :mod:`dashboard.writes` stands on (its errors,
  transactions across tables, the filters of ``rows()``).
- :mod:`~dashboard.plugins.builtins`: features of the dashboard written as ordinary plugins.

A plugin itself imports only the public API: :mod:`dashboard.hookspecs`,
:mod:`dashboard.pages`, :mod:`dashboard.charts`, :mod:`dashboard.writes` and the names of
:mod:`dashboard.i18n`. This package may import every layer below the app factory
(:mod:`dashboard.web`, :mod:`dashboard.security`, :mod:`dashboard.db`, :mod:`dashboard.i18n`).
"""
