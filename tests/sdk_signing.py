"""Sign a test client's request with the Huawei Cloud SDK's own signer (AK/SK).

`signed(...)` returns the request's META (headers, content type, query string) for Django's
test client, signed exactly as `huaweicloudsdkcore` signs it; send a body with
`client.generic(method, path, body, content_type, **meta)`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

TEST_HOST = "testserver"


def sdk_date(moment: datetime | None = None) -> str:
    """Return `moment` (default now) as the SDK writes `X-Sdk-Date`."""
    return (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def signed(
    method: str,
    path: str,
    *,
    ak: str,
    sk: str,
    project_id: str | None = None,
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
    date: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """Return the META of `method path` signed by the SDK with (ak, sk)."""
    header_params = {"Content-Type": content_type, "X-Sdk-Date": date or sdk_date()}
    header_params.update(headers or {})
    request = SdkRequest(
        method=method,
        schema="http",
        host=TEST_HOST,
        resource_path=path,
        query_params=list(query or []),
        header_params=header_params,
        body=body,
    )
    BasicCredentials(ak, sk, project_id).sign_request(request)
    meta = {"QUERY_STRING": request.uri.partition("?")[2]}
    for name, value in request.header_params.items():
        key = name.upper().replace("-", "_")
        meta[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return meta
