"""The emails Keyport sends with an operator-editable template, and the text each ships with.

An operator's edited version lives in EmailTemplate; without one, the default here is used.
`sample` is the context the dashboard's preview renders with; a real email gets the same keys.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class DefaultTemplate:
    key: str
    name: str
    description: str
    subject: str
    body_text: str
    sample: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()


# Every email Keyport sends, by key: each app registers its own from its emails.py when it loads
# (contacts: the portal's; access: Shared Access and the access notices; events: invitations).
DEFAULT_TEMPLATES: dict[str, DefaultTemplate] = {}


def register_default_template(template: DefaultTemplate) -> None:
    """An app adds one of its emails to the catalogue (at import time of its emails.py)."""
    if DEFAULT_TEMPLATES.get(template.key, template) != template:
        raise ValueError(f"Two emails are registered as {template.key!r}.")
    DEFAULT_TEMPLATES[template.key] = template
