import hashlib


def token_hash(token: str) -> str:
    """What the database keeps of a secret token (a sign-in link's, a guest's key, a device key):
    its SHA-256, so that the table opens nothing if it leaks."""
    return hashlib.sha256(token.encode()).hexdigest()
