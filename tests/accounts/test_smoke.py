def test_register_login_me(anon_client, db):
    r = anon_client.post(
        "/api/v1/auth/register",
        {"email": "Ann@Example.com", "password": "pa55-word-long", "name": "Ann", "organization_name": "Ann Co"},
        format="json",
    )
    assert r.status_code == 201, r.content
    r = anon_client.post(
        "/api/v1/auth/login", {"email": "ann@example.com", "password": "pa55-word-long"}, format="json"
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["role"] == "admin" and body["token_type"] == "bearer"
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    me = anon_client.get("/api/v1/auth/me")
    assert me.status_code == 200, me.content
    assert me.json()["organization"]["name"] == "Ann Co"
