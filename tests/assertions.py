"""Assertions shared by the API tests."""


def assert_error(response, status: int) -> dict:
    """The response is `status` with the project's JSON error shape (a non-empty `detail`); returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body
