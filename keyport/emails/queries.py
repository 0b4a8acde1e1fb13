import datetime as dt
from dataclasses import dataclass

from django.http import Http404

from keyport.emails.defaults import DEFAULT_TEMPLATES, DefaultTemplate
from keyport.emails.models import EmailTemplate


@dataclass(frozen=True, kw_only=True)
class TemplateContent:
    default: DefaultTemplate
    subject: str
    body_text: str
    is_customised: bool
    updated_at: dt.datetime | None = None
    updated_by: str = ""

    @property
    def key(self) -> str:
        return self.default.key


def shipped_content(default: DefaultTemplate) -> TemplateContent:
    """Keyport's own wording of an email, as if the operator had never changed it."""
    return TemplateContent(
        default=default, subject=default.subject, body_text=default.body_text, is_customised=False
    )


def _content(default: DefaultTemplate, row: EmailTemplate | None) -> TemplateContent:
    if row is None:
        return shipped_content(default)
    return TemplateContent(
        default=default,
        subject=row.subject,
        body_text=row.body_text,
        is_customised=True,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def get_template_content(key: str) -> TemplateContent:
    """The operator's version of an email, or the shipped default; 404 for an unknown key."""
    default = DEFAULT_TEMPLATES.get(key)
    if default is None:
        raise Http404("No such email template.")
    return _content(default, EmailTemplate.objects.filter(key=key).first())


def all_template_contents() -> list[TemplateContent]:
    rows = {row.key: row for row in EmailTemplate.objects.filter(key__in=list(DEFAULT_TEMPLATES))}
    return [_content(default, rows.get(key)) for key, default in sorted(DEFAULT_TEMPLATES.items())]
