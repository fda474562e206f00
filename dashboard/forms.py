"""Reflected columns -> WTForms forms, one field per editable column.

Every field is text travelling through the column's codec: the form shows exactly what
is stored and parses exactly what was typed. Fields keep the raw text the operator
typed, so a form that fails validation comes back with the input intact.
"""

from __future__ import annotations

import json
import typing as t

from babel.numbers import get_decimal_symbol
from flask_admin.helpers import get_url
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError
from wtforms.widgets import html_params

from dashboard import submissions
from dashboard.codecs import Codec
from dashboard.i18n import current_locale, exception_text, gettext, lazy_gettext
from dashboard.labels import LocalizedLabel
from dashboard.reflection import ColumnInfo


class DashboardForm(FlaskForm):
    """Base form: carries Flask-WTF's CSRF token, which CSRFProtect checks on every POST."""


class CodecCheck:
    """Validator parsing the field's text with the column's codec."""

    def __init__(self, codec: Codec, *, nullable: bool) -> None:
        self.codec = codec
        self.nullable = nullable

    def __call__(self, form: t.Any, field: Field) -> None:
        text = field.data if isinstance(field.data, str) else ""
        if text == getattr(field, "loaded_text", None) or (text == "" and self.nullable):
            return
        if text == "" and self.codec.kind not in ("string", "text"):
            raise ValidationError(gettext("This field is required."))
        try:
            self.codec.from_text(text)
        except ValueError as exc:
            raise ValidationError(exception_text(exc)) from None


class RequiredText:
    """A NOT NULL column without a default must be given on create."""

    def __call__(self, form: t.Any, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(gettext("This field is required."))


class ForeignKeyWidget:
    """Search-as-you-type picker (Flask-Admin's select2 AJAX input) for a single-column foreign key."""

    def __call__(self, field: ForeignKeyField, **kwargs: t.Any) -> Markup:
        kwargs.setdefault("id", field.id)
        kwargs["type"] = "hidden"
        kwargs["data-role"] = "select2-ajax"
        kwargs["data-url"] = get_url(".ajax_lookup", name=field.lookup_name)
        kwargs["data-minimum-input-length"] = 0
        kwargs["data-placeholder"] = gettext("Type to search")
        if field.allow_blank:
            kwargs["data-allow-blank"] = "1"
        value = field._value()
        if value:
            kwargs["value"] = value
            kwargs["data-json"] = json.dumps([value, field.label_for(value)])
        # html_params escapes every value, the way WTForms' own widgets build their markup.
        return Markup(f"<input {html_params(name=field.name, **kwargs)}>")  # nosec B704 -- values escaped by html_params


class ForeignKeyField(StringField):
    """A foreign key value chosen by searching the referenced table."""

    widget = ForeignKeyWidget()

    def __init__(self, *args: t.Any, lookup_name: str = "", label_for: t.Callable[[str], str] | None = None,
                 allow_blank: bool = True, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookup_name = lookup_name
        self.label_for = label_for or (lambda value: value)
        self.allow_blank = allow_blank


def field_for(column: ColumnInfo, codec: Codec, *, creating: bool, label: str | LocalizedLabel,
              lookup: tuple[str, t.Callable[[str], str]] | None = None,
              read_only: bool = False) -> Field | None:
    """A form field for ``column``, or ``None`` when it is not typed in on this form."""
    if not codec.editable or column.computed:
        return None
    if column.autoincrement and creating:
        return None
    if read_only:
        return None
    validators: list[t.Any] = []
    required_on_create = not column.nullable and not column.has_server_default and not column.autoincrement
    if creating and required_on_create and codec.kind not in ("string", "text"):
        validators.append(RequiredText())
    validators.append(CodecCheck(codec, nullable=column.nullable or (not creating and not required_on_create)))
    description = _description(column.comment, codec)
    render_kw = {"placeholder": codec.placeholder} if codec.placeholder else {}
    common = {"label": label, "validators": validators, "description": description, "render_kw": render_kw}
    if lookup is not None:
        name, label_for = lookup
        common["description"] = _description(column.comment, Codec(kind="string"))
        return ForeignKeyField(lookup_name=name, label_for=label_for, allow_blank=column.nullable, **common)
    if codec.choices and codec.kind != "set":
        choices = [SelectChoice("", "—")] if column.nullable or creating else []
        choices += [SelectChoice(choice, _choice_label(codec, choice)) for choice in codec.choices]
        return SelectField(choices=choices, validate_choice=False, **common)
    if codec.multiline:
        return TextAreaField(**common)
    return StringField(**common)


def _description(comment: str | None, codec: Codec) -> t.Any:
    """The help under a field: the column's comment, then how to type a value, in the operator's language.

    Forms take the locale-neutral text of the codec (``1234.56``, ``2024-03-01``) whatever
    the language, so that a form saved unchanged sends back exactly what it loaded; in
    languages that write a decimal comma the hint says so. Lazy: fields are built once.
    """
    if not comment and not codec.placeholder:
        return ""

    def text() -> str:
        parts = [comment or ""]
        if codec.placeholder:
            parts.append(gettext("e.g. %(example)s", example=codec.placeholder))
        if codec.kind in ("decimal", "float") and get_decimal_symbol(current_locale()) != ".":
            parts.append(gettext("Type a dot as the decimal separator, without thousands separators."))
        # Flask-Admin shows descriptions unescaped (|safe): the comment comes from the database.
        return str(escape(" ".join(p for p in parts if p)))

    return LazyString(text)


def _choice_label(codec: Codec, choice: str) -> t.Any:
    # Lazy: choices are built once, at start-up, and shown in each operator's language.
    if codec.kind == "boolean":
        return lazy_gettext("Yes") if choice == "true" else lazy_gettext("No")
    return choice


def build_form_class(fields: dict[str, Field], *, with_fingerprint: bool) -> type[DashboardForm]:
    """A form class with ``fields`` (keyed by column key) and, on edit forms, the row fingerprint;
    create forms get a one-time submission token instead (:mod:`dashboard.submissions`)."""
    attributes: dict[str, t.Any] = dict(fields)
    if with_fingerprint:
        attributes["fingerprint"] = HiddenField()
    else:
        attributes[submissions.FIELD] = HiddenField(default=submissions.new_token)
    return type("TableForm", (DashboardForm,), attributes)
