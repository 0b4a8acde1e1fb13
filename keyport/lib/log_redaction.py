import logging
import re

# The paths whose next segment is a secret: a sign-in link, a guest's key, an email-change
# confirmation, a staff invite.
TOKEN_PREFIXES = ("/login/link/", "/key/", "/settings/email/", "/dashboard/invite/")
TOKEN_IN_PATH = re.compile("(" + "|".join(re.escape(prefix) for prefix in TOKEN_PREFIXES) + r")[^/\s\"?]+")
# A staff password reset link: /dashboard/password-reset/<user id>/<token>/; the token is the second.
RESET_LINK_PREFIX = "/dashboard/password-reset/"
RESET_LINK_IN_PATH = re.compile(re.escape(RESET_LINK_PREFIX) + r"([^/\s\"?]+/)[^/\s\"?]+")
# Stripe's secret and restricted API keys and webhook signing secrets, wherever a line has one (an
# error message of the stripe library, a request dumped while debugging).
STRIPE_SECRET = re.compile(r"\b(sk|rk)_(live|test)_[A-Za-z0-9_]+|\bwhsec_[A-Za-z0-9_]+")
STRIPE_MARKERS = ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_")


class RedactSignInTokens(logging.Filter):
    """Removes magic-link tokens, guest keys, email-change tokens, staff invite and password
    reset tokens and Stripe secrets from log lines, such as request paths logged by runserver."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(prefix in message for prefix in (*TOKEN_PREFIXES, RESET_LINK_PREFIX)):
            message = TOKEN_IN_PATH.sub(r"\1[redacted]", message)
            message = RESET_LINK_IN_PATH.sub(RESET_LINK_PREFIX + r"\1[redacted]", message)
            record.msg, record.args = message, None
        if any(marker in message for marker in STRIPE_MARKERS):
            record.msg, record.args = STRIPE_SECRET.sub("[redacted]", message), None
        return True
