def normalize_email_address(email: str) -> str:
    """One spelling per address: trimmed and lower-cased, so lookups and uniqueness agree."""
    return email.strip().lower()
