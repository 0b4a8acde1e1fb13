"""Every page a demo person can reach by following links answers without a server error."""

from collections import deque
from html.parser import HTMLParser

import pytest
from django.test import Client

from keyport.contacts.models import Contact
from keyport.demo.data import DEMO_PASSWORD, GUEST_EMAIL, OWNER_EMAIL, PARTNER_EMAIL, TENANT_EMAIL
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Links that end a session or change something on GET are never followed.
NOT_FOLLOWED = ("/logout", "/sign-out", "/dashboard/logout/", "/admin/")
MAX_PAGES = 250


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/") and not href.startswith("//"):
                self.hrefs.append(href.split("#")[0])


def _crawl(client: Client, start: str, within: str) -> dict[str, int]:
    """Breadth-first over same-site links under `within`; the status of each page reached."""
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen or not url.startswith(within) or any(part in url for part in NOT_FOLLOWED):
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code in (301, 302) and response["Location"].startswith("/"):
            queue.append(response["Location"])
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            links = _Links()
            links.feed(response.content.decode())
            queue.extend(href for href in links.hrefs if href not in seen)
    return seen


def test_every_dashboard_page_the_owner_reaches_answers(demo, client):
    assert (
        client.post("/dashboard/login/", {"username": OWNER_EMAIL, "password": DEMO_PASSWORD}).status_code
        == 302
    )
    pages = _crawl(client, "/dashboard/", "/dashboard/")
    assert len(pages) > 40
    assert {url: status for url, status in pages.items() if status >= 500} == {}


def test_every_portal_page_each_demo_person_reaches_answers(demo, client):
    for email in (TENANT_EMAIL, PARTNER_EMAIL, GUEST_EMAIL):
        client.logout()
        sign_in_as(client, Contact.objects.get(email=email))
        pages = _crawl(client, "/portal/", "/")
        assert len(pages) > 1, email
        assert {url: status for url, status in pages.items() if status not in (200, 302)} == {}, email
