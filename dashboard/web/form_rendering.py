"""Create and edit forms written in Python: the markup of Flask-Admin's ``lib.render_field``
macro (Bootstrap 4), without a macro call per field.

Every field is still rendered by its own WTForms widget (``field(**kwargs)``), so inputs,
select2 lookups and date pickers are what Flask-Admin draws; only the frame around each one
(label, required mark, errors, description) is built here. A form with ``form_rules`` is left
to Flask-Admin's macros, which know them.
"""

from __future__ import annotations

import typing as t

from flask_admin.helpers import is_field_error, is_required_form_field
from markupsafe import Markup, escape


def form_fields_html(form: t.Any, form_opts: t.Any = None) -> Markup | None:
    """The hidden inputs and visible fields of ``form``; ``None`` when it has form rules."""
    if form_opts is not None and getattr(form_opts, "form_rules", None):
        return None
    widget_args = getattr(form_opts, "widget_args", None) or {}
    parts = [str(form.hidden_tag())]
    for field in form:
        if getattr(field.widget, "input_type", None) == "hidden":
            continue
        parts.append(_field_html(field, dict(widget_args.get(field.short_name, {}))))
    return Markup("".join(parts))  # nosec B704 -- widgets render escaped; labels and errors escaped above


def _field_html(field: t.Any, kwargs: dict[str, t.Any]) -> str:
    input_type = getattr(field.widget, "input_type", None)
    checkbox = input_type == "checkbox"
    column_class = kwargs.pop("column_class", "")
    kwargs.pop("prepend", None)
    kwargs.pop("append", None)
    if checkbox:
        kwargs.setdefault("class", "")
    elif input_type == "file":
        kwargs.setdefault("class", "form-control-file")
    else:
        kwargs.setdefault("class", "form-control")
    error = is_field_error(field.errors)
    if error:
        kwargs["class"] = f"{kwargs['class']} is-invalid"
    required = '<strong class="text-danger">&#42;</strong>' if is_required_form_field(field) else "&nbsp;"
    label_class = "col-form-label d-block mb-0" if checkbox else "col-form-label"
    html = [
        f'<div class="form-group {escape(column_class)}">'
        f'<label for="{escape(field.id)}" class="{label_class}">{escape(field.label.text)} {required}</label>',
        str(field(**kwargs)),
    ]
    spacing = " mt-0" if checkbox else ""
    if error:
        items = "".join(f"<li>{escape(e)}</li>" for e in field.errors if isinstance(e, str))
        html.append(f'<div class="invalid-feedback"><ul class="form-text text-danger{spacing}">{items}</ul></div>')
    elif field.description:
        # As Flask-Admin does: a description is the view's own text (column comments are escaped
        # where the form is built, dashboard.web.forms).
        html.append(f'<small class="form-text text-muted{spacing}">{field.description}</small>')
    html.append("</div>")
    return "".join(html)
