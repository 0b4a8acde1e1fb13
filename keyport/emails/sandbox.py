"""The template language operators may use in email templates: Django's, without the risky tags.

An operator-edited template is text from the database. It is rendered by its own engine that
has no loaders (no {% include %} or {% extends %} of files), no {% load %}, {% debug %},
{% url %} or {% csrf_token %}, and it only ever receives plain strings, so it cannot call
methods on models or reach settings.
"""

from typing import Any

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags

SAFE_TAGS = (
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "with",
)

register = Library()
for _name in SAFE_TAGS:
    register.tag(_name, defaulttags.register.tags[_name])
for _name, _filter in defaultfilters.register.filters.items():
    register.filter(_name, _filter)


class SandboxEngine(Engine):
    default_builtins = ["keyport.emails.sandbox"]


ENGINE = SandboxEngine(loaders=[("django.template.loaders.locmem.Loader", {})], autoescape=False)


def compile_template(source: str) -> Any:
    """Raises django.template.TemplateSyntaxError for a template that is wrong or uses a refused tag."""
    return ENGINE.from_string(source)


def render_string(source: str, context: dict[str, str]) -> str:
    """Raises TemplateSyntaxError too for a template that compiles but fails when run."""
    template = compile_template(source)
    try:
        rendered = template.render(Context(context, autoescape=False))
    except TemplateSyntaxError:
        raise
    except Exception as error:  # A filter given a wrong argument, such as {{ name|center:"x" }}.
        raise TemplateSyntaxError(f"a filter failed: {error}") from error
    # Plain text, not Django's SafeString: the HTML that shows it (the preview, an email's HTML
    # version) must escape it, as names and addresses in it come from customers.
    return str.__str__(rendered)
