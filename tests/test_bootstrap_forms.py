from django import forms

from keyport.lib.bootstrap_forms import BootstrapForm


class Sample(BootstrapForm):
    name = forms.CharField()
    kind = forms.ChoiceField(choices=[("a", "A")])
    agree = forms.BooleanField(required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)


class LargeSample(Sample):
    field_size = "lg"


def classes(form: forms.Form) -> dict[str, str | None]:
    return {name: field.widget.attrs.get("class") for name, field in form.fields.items()}


def test_each_widget_gets_the_class_of_its_kind_and_the_invalid_ones_are_marked_once_validated():
    unbound = Sample()
    assert classes(unbound) == {
        "name": "form-control",
        "kind": "form-select",
        "agree": "form-check-input",
        "token": None,
    }
    bound = Sample({"name": "", "kind": "a"})
    assert classes(bound)["name"] == "form-control", "not validated yet: no error is guessed"
    assert not bound.is_valid()
    assert classes(bound)["name"] == "form-control is-invalid"
    assert classes(bound)["kind"] == "form-select"


def test_a_form_may_ask_for_the_large_size():
    assert classes(LargeSample())["name"] == "form-control form-control-lg"
    assert classes(LargeSample())["kind"] == "form-select form-select-lg"
