"""The OpenAPI 3.1 document of Keyport's device API, served at /api/v1/openapi.json."""

from typing import Any

# Four to ten ASCII digits, the lengths ACCESS_PIN_LENGTH allows (str.isdigit would also take
# other scripts' digits).
PIN_PATTERN = "^[0-9]{4,10}$"
MAX_BODY_BYTES = 4096

REASONS = [
    "ok",
    "unknown_pin",
    "outside_window",
    "revoked",
    "not_mapped",
    "location_closed",
    "slow_down",
    "blocked",
]

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Keyport access API",
        "version": "1",
        "description": (
            "Doors, gates and keypads ask whether a PIN may open them now. Each access point has its "
            "own device key (issue with `manage.py access_device_key <location id> <external id>`); "
            "every decision is logged as an access event. Repeated wrong PINs at one access point are "
            "slowed (`slow_down`, with `retry_after` seconds) and then blocked for a while (`blocked`, with "
            "a `message` for the keypad's display: the portal's Open button still opens the door). "
            f"The body is one flat JSON object of at most {MAX_BODY_BYTES} bytes; anything else is refused."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {
            "deviceKey": {"type": "http", "scheme": "bearer", "description": "The device key."}
        },
        "schemas": {
            "AccessCheck": {
                "type": "object",
                "required": ["access_point", "pin"],
                "properties": {
                    "access_point": {
                        "type": "string",
                        "description": "The access point's external identifier.",
                    },
                    "pin": {"type": "string", "pattern": PIN_PATTERN},
                },
            },
            "AccessDecision": {
                "type": "object",
                "required": ["allowed", "reason"],
                "properties": {
                    "allowed": {"type": "boolean"},
                    "reason": {"type": "string", "enum": REASONS},
                    "retry_after": {
                        "type": "integer",
                        "description": "Seconds to wait (slow_down, blocked).",
                    },
                    "message": {
                        "type": "string",
                        "description": "For the keypad's display (blocked): how long, and that the "
                        "portal's Open button still works.",
                    },
                },
            },
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
    "paths": {
        "/access/check": {
            "post": {
                "operationId": "accessCheck",
                "summary": "May this PIN open this access point now?",
                "security": [{"deviceKey": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccessCheck"}}},
                },
                "responses": {
                    "200": {
                        "description": "The decision (allowed or denied, with the reason).",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/AccessDecision"}}
                        },
                    },
                    "400": {
                        "description": "A known key with a body that is not one flat JSON object "
                        f"of at most {MAX_BODY_BYTES} bytes (`body_too_large`, `bad_request`), "
                        "or without the fields.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                    "401": {
                        "description": "Missing or unknown device key.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                    "403": {
                        "description": "The key belongs to another access point.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            }
        }
    },
}
