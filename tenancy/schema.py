"""How jobdesk's authentication appears in the OpenAPI schema.

drf-spectacular finds the extensions below by their `target_class`; they are imported when
the tenancy app is ready, so every schema generation (command, view, test) sees them. The
session scheme is drf-spectacular's own `cookieAuth`.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <key>`: a jobdesk API key, as Canvas and Traffic Ops send it."""

    target_class = "tenancy.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A jobdesk API key sent as `Authorization: Bearer <key>`.",
        }


class XAuthTokenScheme(OpenApiAuthenticationExtension):
    """`X-Auth-Token: <key>`: a jobdesk API key, as ROMA Connect clients send it."""

    target_class = "tenancy.authentication.XAuthTokenAuthentication"
    name = "xAuthToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": "A jobdesk API key sent as `X-Auth-Token: <key>`.",
        }
