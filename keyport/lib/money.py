# The currency (ISO 4217) amounts are in until a site's billing settings name another.
DEFAULT_CURRENCY = "EUR"
