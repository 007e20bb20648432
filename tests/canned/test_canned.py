"""Canned responses: every agent reads them, administrators write them."""

from __future__ import annotations

from tests.support.api import Api, create_agent


async def test_crud_and_permissions(admin: Api) -> None:
    agent = await create_agent(admin, "canned-agent@example.com")
    created = await admin.post(
        "/api/v1/canned-responses",
        json={"shortcut": "Thanks", "title": "Thanks", "body": "Thank you for writing!"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["shortcut"] == "thanks"  # shortcuts are lower-case
    assert body["created_by_id"] == admin.agent["id"]

    listed = await agent.get("/api/v1/canned-responses")
    assert [c["shortcut"] for c in listed.json()] == ["thanks"]

    forbidden = await agent.post(
        "/api/v1/canned-responses", json={"shortcut": "x", "title": "x", "body": "x"}
    )
    assert forbidden.status_code == 403
    assert (await agent.delete(f"/api/v1/canned-responses/{body['id']}")).status_code == 403

    taken = await admin.post(
        "/api/v1/canned-responses", json={"shortcut": "THANKS", "title": "t", "body": "b"}
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "shortcut_taken"

    bad = await admin.post(
        "/api/v1/canned-responses", json={"shortcut": "two words", "title": "t", "body": "b"}
    )
    assert bad.status_code == 422

    patched = await admin.patch(
        f"/api/v1/canned-responses/{body['id']}", json={"body": "Thanks a lot!"}
    )
    assert patched.status_code == 200
    assert patched.json()["body"] == "Thanks a lot!"

    assert (await admin.delete(f"/api/v1/canned-responses/{body['id']}")).status_code == 204
    assert (await admin.get("/api/v1/canned-responses")).json() == []
    missing = await admin.patch("/api/v1/canned-responses/999", json={"title": "x"})
    assert missing.status_code == 404
