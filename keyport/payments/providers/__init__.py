"""Payment providers: every detail of an outside payment service lives in its module here.
Stripe (`stripe_api`) is the first; the services speak to it only through its functions and its
two errors, and get plain dicts back, shaped as Stripe's objects."""
