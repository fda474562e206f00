"""Plugins: finding and loading them, applying their hooks, and the features built as plugins.

- :mod:`~dashboard.plugins.loader`: built-in plugins, the ``plugins/`` folder and installed
  packages, loaded with pluggy; a plugin that fails is reported, never fatal.
- :mod:`~dashboard.plugins.hooks`: what the hooks' answers do to the app (pages, charts,
  menu links, bulk actions, table options, template variables).
- :mod:`~dashboard.plugins.builtins`: features of the dashboard written as ordinary plugins.

A plugin itself imports only the public API: :mod:`dashboard.hookspecs`,
:mod:`dashboard.pages`, :mod:`dashboard.charts`, :mod:`dashboard.writes` and the names of
:mod:`dashboard.i18n`. This package may import every layer below the app factory
(:mod:`dashboard.web`, :mod:`dashboard.security`, :mod:`dashboard.db`, :mod:`dashboard.i18n`).
"""
