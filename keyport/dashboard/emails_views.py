"""Email templates: the operator's own wording of Keyport's emails, with a preview and a test
email to oneself. Owners only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateSyntaxError
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.dashboard.contact_forms import EmailTemplateForm
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.staff_auth import StaffRequest, owner_required
from keyport.emails.queries import TemplateContent, all_template_contents, get_template_content
from keyport.emails.rendering import render_email
from keyport.emails.services import email_template_reset, email_template_save, email_template_send_test
from keyport.staff.queries import time_zone_of_staff


@owner_required
def email_templates(request: StaffRequest) -> HttpResponse:
    context = {"templates": all_template_contents(), "times_zone": time_zone_of_staff(request.user)}
    return render(request, "dashboard/emails/list.html", context)


@owner_required
def email_template_edit(request: StaffRequest, key: str) -> HttpResponse:
    content = get_template_content(key)
    form = EmailTemplateForm(
        request.POST or None, initial={"subject": content.subject, "body_text": content.body_text}
    )
    if request.method == "POST" and form.is_valid():
        try:
            email_template_save(
                actor=Actor.staff(request.user),
                key=key,
                subject=form.cleaned_data["subject"],
                body_text=form.cleaned_data["body_text"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{content.default.name} saved. Emails from now on use it.")
            return redirect("dashboard:email_template_edit", key=key)
    return _edit_page(request, content, form)


@require_POST
@owner_required
def email_template_send_test_view(request: StaffRequest, key: str) -> HttpResponse:
    """Send a test: the wording in the form, with the preview's example data, to the owner's own email.

    Nothing is saved; the page comes back with the form as it was.
    """
    content = get_template_content(key)
    form = EmailTemplateForm(request.POST)
    if form.is_valid():
        try:
            email = email_template_send_test(
                key=key,
                to=request.user.email,
                subject=form.cleaned_data["subject"],
                body_text=form.cleaned_data["body_text"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Test email sent to {email.to}.")
    return _edit_page(request, content, form)


@require_POST
@owner_required
def email_template_preview(request: StaffRequest, key: str) -> HttpResponse:
    """The preview of what is in the form right now (htmx, as the owner types)."""
    content = get_template_content(key)
    preview = _preview(
        content.default.sample, request.POST.get("subject", ""), request.POST.get("body_text", "")
    )
    return render(request, "dashboard/emails/_preview.html", {"preview": preview, "content": content})


@require_POST
@owner_required
def email_template_reset_view(request: StaffRequest, key: str) -> HttpResponse:
    content = get_template_content(key)
    email_template_reset(actor=Actor.staff(request.user), key=key)
    messages.success(request, f"{content.default.name} is back to Keyport's default.")
    return redirect("dashboard:email_template_edit", key=key)


def _edit_page(request: StaffRequest, content: TemplateContent, form: EmailTemplateForm) -> HttpResponse:
    subject = form["subject"].value() or ""
    body = form["body_text"].value() or ""
    context = {"content": content, "form": form, "preview": _preview(content.default.sample, subject, body)}
    return render(request, "dashboard/emails/edit.html", context, status=400 if form.errors else 200)


def _preview(sample: dict[str, str], subject: str, body: str) -> dict[str, str]:
    try:
        rendered = render_email(subject, body, sample)
    except TemplateSyntaxError as error:
        return {"error": f"Template error: {error}"}
    return {"subject": rendered.subject, "body_text": rendered.body_text}
