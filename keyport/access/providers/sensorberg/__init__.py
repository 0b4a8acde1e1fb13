"""Sensorberg adapter: every HTTP detail of the vendor's cloud lives in this package.

Authentication is as Sensorberg publishes it (OAuth 2.0 client credentials with scope=app,
tokens revocable per RFC 7009); every resource call speaks JSON:API (media type
application/vnd.api+json, documents of `data` with `type`, `id` and `attributes`, lists paged by
`links.next`, errors as an `errors` array). The resource paths are not published; the fake
server in tests/sensorberg_fake.py defines them:

    POST   {base}/oauth/token                           client credentials → bearer token
    POST   {base}/oauth/revoke                          revoke a token (the login changed)
    GET    {base}/v1/access-groups                      every access group (Test connection)
    GET    {base}/v1/access-groups?filter[external_id]=<unit>   the unit's access group
    PUT    {base}/v1/access-groups/<group>/memberships/<ref>   membership with validity and PIN
    DELETE {base}/v1/access-groups/<group>/memberships/<ref>   remove it (404 counts as gone)
    GET    {base}/v1/access-groups/<group>/memberships  what the vendor holds (reconcile)

A membership is named by the grant (`keyport-grant-<id>`) and written with PUT, so pushing the
same grant twice never makes two. Every write carries an Idempotency-Key as well.
A group can be re-created in the vendor's dashboard under a new id: a 404 on a cached group id
looks the group up again and, if its id changed, tries once more there.
A PUT that got no answer (a timeout, an answer cut off, a gateway's 502 or 504) raises
MayStillLand: the vendor may apply it later, and the outbox then confirms a removal sent meanwhile.

By topic: `provider` (the calls the outbox and the settings page make, and the caches of tokens
and group ids), `memberships` (a grant as the membership Sensorberg holds, a unit as its access
group), `json_api` (requests and answers on the wire, and what an error answer tells staff),
`tokens` (the token endpoint's answer, the token saved with the login), `connections` (the pooled
clients, connecting only to public addresses), `call_tally` (calls counted per minute).
"""

from keyport.access.providers.sensorberg.provider import SensorbergProvider

__all__ = ["SensorbergProvider"]
