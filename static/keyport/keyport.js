// Keyport's small behaviours; no inline scripts (the Content-Security-Policy forbids them).
