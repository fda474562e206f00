"""Query arguments that the site's own links cannot carry: refused with a 400, not a 500.

A list page rebuilds its links (sort, pager, "Refresh", the export) from the arguments of
its own address, through ``url_for``, whose keyword parameters are ``endpoint``, ``_anchor``,
``_method``, ``_scheme`` and ``_external``, and the export link also passes ``export_type``.
An address carrying one of those as a query argument (``?endpoint=x``) made ``url_for``
fail and the page answer 500. None of them means anything to the dashboard, so a request
naming one is refused up front with a message, before any view builds a link from it.
"""

from __future__ import annotations

from flask import Flask, abort, request

from dashboard.i18n.translation import gettext

#: ``url_for``'s own parameters, and the export links' ``export_type``.
RESERVED = frozenset({"endpoint", "_anchor", "_method", "_scheme", "_external", "export_type"})


def _refuse_reserved_arguments() -> None:
    found = sorted(RESERVED.intersection(request.args.keys()))
    if found:
        abort(
            400,
            description=gettext(
                "This address has an argument the dashboard does not take: %(names)s. Remove it and try again.",
                names=", ".join(found),
            ),
        )


def init_app(app: Flask) -> None:
    """Refuse requests whose query string names one of :data:`RESERVED`."""
    app.before_request(_refuse_reserved_arguments)
