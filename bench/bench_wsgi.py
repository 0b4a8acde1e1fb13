"""The WSGI application the bench's gunicorn run serves: Keyport's own, with the bench's what-if
applied in each worker when the bench asks for it (BENCH_WITHOUT_EVENT_WRITE)."""

import os

from keyport.wsgi import application

if os.environ.get("BENCH_WITHOUT_EVENT_WRITE"):
    from setup_django import skip_event_writes

    skip_event_writes()

__all__ = ["application"]
