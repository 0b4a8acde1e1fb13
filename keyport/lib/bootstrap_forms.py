"""The one way forms get Bootstrap's classes: each widget its class by its kind, `is-invalid` on
the fields with errors once the form is validated, and the larger size where a form asks for it
(the portal's forms on a phone)."""

from typing import Any

from django import forms


def style_fields(form: forms.BaseForm, *, size: str = "") -> None:
    """Bootstrap classes on every visible widget (`size` "lg" for the large ones), marking the
    ones with errors."""
    # Read the errors only once validated: asking for them here would validate too early.
    validated = getattr(form, "_errors", None)
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = f"form-select form-select-{size}" if size else "form-select"
        else:
            css = f"form-control form-control-{size}" if size else "form-control"
        invalid = " is-invalid" if validated and name in validated else ""
        widget.attrs["class"] = css + invalid


class _Styled(forms.BaseForm):
    """Styles the fields when the form is made and again once it is validated."""

    field_size = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self, size=self.field_size)

    def full_clean(self) -> None:
        super().full_clean()
        style_fields(self, size=self.field_size)


class BootstrapForm(_Styled, forms.Form):
    pass


class BootstrapModelForm(_Styled, forms.ModelForm):
    pass
