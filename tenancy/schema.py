"""How jobdesk's authentication schemes appear in the OpenAPI schema.

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


class SignatureScheme(OpenApiAuthenticationExtension):
    """`Authorization: SDK-HMAC-SHA256 ...`: a request signed with an access key (AK/SK)."""

    target_class = "tenancy.authentication.SignatureAuthentication"
    name = "akskSignature"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Huawei Cloud's AK/SK request signature, as the Huawei Cloud SDKs compute it "
                "(`BasicCredentials(ak, sk, project_id)`): `Authorization: SDK-HMAC-SHA256 "
                "Access=<AK>, SignedHeaders=<names>, Signature=<hex HMAC-SHA256>`, with "
                "`X-Sdk-Date` (within 15 minutes of the server's time) and `host` among the "
                "signed headers, and optionally `X-Project-Id` (it must name the path's "
                "project). The HMAC, keyed with the secret (SK), covers the method, path, "
                "query, signed headers and the body's SHA-256 (or `X-Sdk-Content-Sha256: "
                "UNSIGNED-PAYLOAD` for a body that is not JSON)."
            ),
        }


class AccessTokenParameterScheme(OpenApiAuthenticationExtension):
    """Canvas' `access_token` parameter: a jobdesk API key in the query string or form body."""

    target_class = "tenancy.authentication.AccessTokenParameterAuthentication"
    name = "accessTokenParameter"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "query",
            "name": "access_token",
            "description": (
                "A jobdesk API key as Canvas' `access_token` query (or form body) parameter, "
                "read only when no `Authorization` header is sent."
            ),
        }
