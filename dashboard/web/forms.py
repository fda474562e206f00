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
from sqlalchemy.types import NullType
from wtforms import Field, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError
from wtforms.widgets import html_params

from dashboard.db.codecs import Codec
from dashboard.db.reflection import ColumnInfo
from dashboard.i18n.translation import (
    current_locale,
    exception_text,
    gettext,
    lazy_gettext,
    translate,
)
from dashboard.messages import N_, Message
from dashboard.web import submissions
from dashboard.web.labels import LocalizedLabel


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

    def __init__(
        self,
        *args: t.Any,
        lookup_name: str = "",
        label_for: t.Callable[[str], str] | None = None,
        allow_blank: bool = True,
        **kwargs: t.Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lookup_name = lookup_name
        self.label_for = label_for or (lambda value: value)
        self.allow_blank = allow_blank


class ReadOnlyWidget:
    """A value shown greyed out and never sent: a disabled input, or a text area for long text."""

    def __call__(self, field: ReadOnlyField, **kwargs: t.Any) -> Markup:
        kwargs.setdefault("id", field.id)
        text = field._value()
        params = html_params(name=field.name, readonly=True, disabled=True, **kwargs)
        # html_params and escape quote every value, the way WTForms' own widgets build their markup.
        if field.multiline or len(text) > 80 or "\n" in text:
            return Markup(f'<textarea {params} rows="3">{escape(text)}</textarea>')  # nosec B704 -- every value escaped above
        return Markup(f'<input type="text" {params} {html_params(value=text)}>')  # nosec B704 -- every value escaped above


class ReadOnlyField(Field):
    """A column shown on the form but not written from it; its description says why.

    Whatever a request sends for it is ignored: the view skips it when it builds the values
    to write, and the posted text never even becomes the field's data.
    """

    widget = ReadOnlyWidget()

    def __init__(self, *args: t.Any, multiline: bool = False, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def process_formdata(self, valuelist: list[t.Any]) -> None:
        """Keep the value the view loaded, never a posted one."""

    def _value(self) -> str:
        return self.data if isinstance(self.data, str) else ""


def read_only_reason(column: ColumnInfo, codec: Codec, *, creating: bool, configured: bool = False) -> str | None:
    """Why ``column`` is shown but not typed in on a create (``creating``) or edit form, or ``None``.

    :param configured: the operator's ``TABLES`` settings make the column read-only.
    """
    if column.database_generated:
        return Message(N_("generated by the database"))
    if column.autoincrement and creating:
        return Message(N_("numbered by the database"))
    if column.primary_key and not creating:
        return Message(N_("part of the row's key"))
    if not codec.editable:
        if codec.kind == "unknown":
            return Message(N_("no editor for type %(type)s"), type=_type_name(column.type))
        return codec.read_only_reason or Message(N_("not editable here"))
    if configured:
        return Message(N_("configured read-only"))
    return None


def _type_name(column_type: t.Any) -> str:
    """A column type as the database names it (``tsvector``), without compiling it for a dialect."""
    if isinstance(column_type, NullType):
        return "?"
    return str(getattr(column_type, "__visit_name__", type(column_type).__name__)).lower()


def optional_on_create(column: ColumnInfo) -> bool:
    """Whether a create form may leave ``column`` empty: NULL is allowed, or the database fills it in."""
    return column.nullable or column.has_server_default or column.autoincrement


def field_for(
    column: ColumnInfo,
    codec: Codec,
    *,
    creating: bool,
    label: str | LocalizedLabel,
    lookup: tuple[str, t.Callable[[str], str]] | None = None,
    read_only: str | None = None,
) -> Field:
    """A form field for ``column``: typed in, or shown read-only with the reason.

    :param read_only: why the column is not typed in on this form (:func:`read_only_reason`).
    """
    if read_only is not None:
        return ReadOnlyField(
            label=label, description=_read_only_description(column.comment, read_only), multiline=codec.multiline
        )
    validators: list[t.Any] = []
    required_on_create = not optional_on_create(column)
    if creating and required_on_create and codec.kind not in ("string", "text"):
        validators.append(RequiredText())
    # Empty on create leaves a column with a server default out of the INSERT; on edit a NOT
    # NULL column keeps needing a value whatever its default.
    filled_by_database = creating and (column.has_server_default or column.autoincrement)
    validators.append(CodecCheck(codec, nullable=column.nullable or filled_by_database))
    description = _description(column.comment, codec, default_hint=filled_by_database)
    render_kw = {"placeholder": codec.placeholder} if codec.placeholder else {}
    common = {"label": label, "validators": validators, "description": description, "render_kw": render_kw}
    if lookup is not None:
        name, label_for = lookup
        common["description"] = _description(column.comment, Codec(kind="string"))
        # The picker says "Type to search"; the key's example ("123") would take its place.
        common["render_kw"] = {}
        return ForeignKeyField(lookup_name=name, label_for=label_for, allow_blank=column.nullable, **common)
    if codec.choices and codec.kind != "set":
        choices = [SelectChoice("", "—")] if column.nullable or creating else []
        choices += [SelectChoice(choice, _choice_label(codec, choice)) for choice in codec.choices]
        return SelectField(choices=choices, validate_choice=False, **common)
    if codec.multiline:
        return TextAreaField(**common)
    return StringField(**common)


def _description(comment: str | None, codec: Codec, *, default_hint: bool = False) -> t.Any:
    """The help under a field: the column's comment, then how to type a value, in the operator's language.

    Forms take the locale-neutral text of the codec (``1234.56``, ``2024-03-01``) whatever
    the language, so that a form saved unchanged sends back exactly what it loaded; in
    languages that write a decimal comma the hint says so. Lazy: fields are built once.

    :param default_hint: say that leaving the field empty lets the database fill it in.
    """
    if not comment and not codec.placeholder and not default_hint:
        return ""

    def text() -> str:
        parts = [comment or ""]
        if default_hint:
            parts.append(gettext("Leave empty to let the database fill it in."))
        if codec.placeholder:
            parts.append(gettext("e.g. %(example)s", example=codec.placeholder))
        if codec.kind in ("decimal", "float") and get_decimal_symbol(current_locale()) != ".":
            parts.append(gettext("Type a dot as the decimal separator, without thousands separators."))
        # Flask-Admin shows descriptions unescaped (|safe): the comment comes from the database.
        return str(escape(" ".join(p for p in parts if p)))

    return LazyString(text)


def _read_only_description(comment: str | None, reason: str) -> t.Any:
    """The help under a read-only field: why it is read-only, then the column's comment. Lazy."""

    def text() -> str:
        parts = [gettext("Read-only: %(reason)s.", reason=translate(reason)), comment or ""]
        # Flask-Admin shows descriptions unescaped (|safe): the comment and type names come from the database.
        return str(escape(" ".join(p for p in parts if p)))

    return LazyString(text)


def _choice_label(codec: Codec, choice: str) -> t.Any:
    # Lazy: choices are built once, at start-up, and shown in each operator's language.
    if codec.kind == "boolean":
        return lazy_gettext("Yes") if choice == "true" else lazy_gettext("No")
    return choice


def build_form_class(fields: dict[str, Field], *, with_fingerprint: bool) -> type[DashboardForm]:
    """A form class with ``fields`` (keyed by column key) and, on edit forms, the row fingerprint;
    create forms get a one-time submission token instead (:mod:`dashboard.web.submissions`)."""
    attributes: dict[str, t.Any] = dict(fields)
    if with_fingerprint:
        attributes["fingerprint"] = HiddenField()
    else:
        attributes[submissions.FIELD] = HiddenField(default=submissions.new_token)
    return type("TableForm", (DashboardForm,), attributes)
