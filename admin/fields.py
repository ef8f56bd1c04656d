"""Form fields and formatters shared by the grids: money typed and shown in yuan, stored in fen."""
from __future__ import annotations

from markupsafe import Markup
from wtforms import StringField, ValidationError

from db.errors import MoneyError
from db.money import fen_to_text, format_fen, parse_fen
from db.text import spreadsheet_safe

__all__ = ["MoneyField", "money", "money_export", "spreadsheet_safe"]



class MoneyField(StringField):
    """A text box in yuan (``1,234.56``) that yields integer fen, refusing anything inexact."""

    def process_formdata(self, valuelist):
        self.data = None
        self._raw = valuelist[0] if valuelist else ""
        if valuelist and valuelist[0].strip():
            try:
                self.data = parse_fen(valuelist[0], allow_zero=False)
            except MoneyError as exc:
                raise ValueError(str(exc)) from exc

    def pre_validate(self, form):
        if self.data is None and getattr(self, "_raw", "").strip():
            raise ValidationError("金额格式不正确")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return fen_to_text(self.data) if isinstance(self.data, int) else ""


def money(view, context, model, name):
    value = getattr(model, name)
    return Markup(f'<span class="text-nowrap">{format_fen(value)}</span>') if isinstance(value, int) else ""


def money_export(view, context, model, name):
    value = getattr(model, name)
    return fen_to_text(value) if isinstance(value, int) else ""
