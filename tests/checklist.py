"""Helpers shared by the ``test_checklist_*`` modules (cases of shared/SECURITY-CHECKLIST.md).

:func:`site_on` opens a logged-in site on a (hostile) database; :func:`row_ids` and
:func:`filter_arg` read a list page the way an operator's browser would;
:func:`multipart_post` posts a form the way the browser posts Flask-Admin's forms.
"""

from __future__ import annotations

import html
import re
import typing as t
from urllib.parse import unquote_plus

from werkzeug.test import encode_multipart

from tests import schemas
from tests.site import Site, make_site

__all__ = ["filter_arg", "multipart_post", "row_ids", "site_on"]


def site_on(url: str, folder: t.Any, role: str = "admin", *, hostile: bool = True, **settings: t.Any) -> Site:
    """A site on ``url`` logged in as ``role``; on a ``hostile`` database it serves the second schema too."""
    other = schemas.other_schema_name(url) if hostile else None
    return make_site(url, folder, role, SCHEMAS=[other] if other else [], **settings)


def row_ids(page: str) -> list[str]:
    """Keys of the rows on a list page, in order, read from their "view record" buttons (not
    from links to other tables' rows)."""
    # The row's link to its details, relative to the list page ("details/?id=..."): the key
    # cell's for a one-column integer key, the eye button's otherwise (links to other tables
    # are absolute).
    keys = re.findall(r'<a (?:class="fa fa-eye" )?href="details/\?id=([^"]*?)(?:&amp;url=[^"]*)?"', page)
    return [unquote_plus(html.unescape(key)) for key in keys]


def filter_arg(site: Site, table_id: str, column_key: str, operation: str) -> str:
    """The ``flt0_<n>`` argument of the filter on ``column_key`` doing ``operation`` ("equals"...)."""
    view = site.state.views[table_id]
    for index, flt in enumerate(view._filters or ()):
        if flt.column.key == view.info.column_by_key(column_key).name and str(flt.operation()) == operation:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise AssertionError(f"no {operation!r} filter on {table_id}.{column_key}")


def multipart_post(site: Site, url: str, data: dict[str, t.Any]) -> t.Any:
    """POST ``data`` as the browser posts Flask-Admin's forms (``multipart/form-data``), with the form's CSRF token."""
    # Encoded here, in memory: for a body over 500 kB the test client spools it to a
    # temporary file that it never closes (a ResourceWarning).
    boundary, body = encode_multipart({"csrf_token": site.token(url), **data})
    return site.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
