"""URL rules that cost nothing until a URL is built with them.

Every Flask-Admin view of a table adds ten routes (list, new, edit, details, delete,
action, export, two AJAX routes, download), so a schema of 600 tables makes 6,000 rules.
Werkzeug compiles two URL-building functions per rule as it is added (Python source,
``ast``, ``compile()``): on that schema about a third of the start-up time went into
builders for URLs that no page ever asks for, as most tables are never opened in a
worker's life. :class:`LazyBuilderRule` compiles a rule's builders the first time
``url_for`` needs them; matching a request is unchanged (it uses the rule's regex, which
is still compiled at once).
"""

from __future__ import annotations

import typing as t

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    """A Werkzeug rule whose URL builders are compiled on first use, then kept."""

    def _compile_builder(self, append_unknown: bool = True) -> t.Callable[..., tuple[str, str]]:
        # Werkzeug binds what this returns to the rule and calls it with the URL's values
        # as keyword arguments; "rule" is positional-only so a value may have any name.
        eager = super()._compile_builder
        compiled: list[t.Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, /, **values: t.Any) -> tuple[str, str]:
            if not compiled:
                compiled.append(eager(append_unknown).__get__(rule, None))
            return compiled[0](**values)

        return build
