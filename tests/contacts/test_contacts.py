"""Contacts: one person across channels; merging loses nothing."""

from __future__ import annotations

from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running


async def test_merge_keeps_every_message_identity_and_conversation(
    running: Running, admin: Api
) -> None:
    shop = await create_api_inbox(admin)
    crm = await create_api_inbox(admin)
    a = (
        await post_incoming(running.client, shop, external_id="1", sender="sara-shop", name="Sara")
    ).json()
    await post_incoming(running.client, shop, external_id="2", sender="sara-shop")
    b = (
        await post_incoming(
            running.client, crm, external_id="1", sender="sara-crm", name="S. Ahmadi"
        )
    ).json()
    keep_id = (await admin.get(f"/api/v1/conversations/{a['conversation_id']}")).json()["contact"][
        "id"
    ]
    other_id = (await admin.get(f"/api/v1/conversations/{b['conversation_id']}")).json()["contact"][
        "id"
    ]
    assert keep_id != other_id

    merged = await admin.post(f"/api/v1/contacts/{keep_id}/merge", json={"other_id": other_id})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["name"] == "Sara"
    assert {i["address"] for i in body["identities"]} == {
        f"{shop.id}:sara-shop",
        f"{crm.id}:sara-crm",
    }
    assert {c["id"] for c in body["conversations"]} == {a["conversation_id"], b["conversation_id"]}
    assert (await admin.get(f"/api/v1/contacts/{other_id}")).status_code == 404

    messages = (await admin.get(f"/api/v1/conversations/{a['conversation_id']}/messages")).json()[
        "items"
    ]
    assert [m["sender"]["id"] for m in messages] == [keep_id, keep_id]
    messages = (await admin.get(f"/api/v1/conversations/{b['conversation_id']}/messages")).json()[
        "items"
    ]
    assert [m["sender"]["id"] for m in messages] == [keep_id]

    # The merged person writing again on the other channel lands on the kept contact.
    again = (await post_incoming(running.client, crm, external_id="2", sender="sara-crm")).json()
    assert again["conversation_id"] == b["conversation_id"]
    conversation = (await admin.get(f"/api/v1/conversations/{b['conversation_id']}")).json()
    assert conversation["contact"] == {"id": keep_id, "name": "Sara"}


async def test_merge_with_itself_or_a_missing_contact_is_refused(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    stored = (await post_incoming(running.client, inbox, external_id="1")).json()
    contact_id = (await admin.get(f"/api/v1/conversations/{stored['conversation_id']}")).json()[
        "contact"
    ]["id"]
    itself = await admin.post(f"/api/v1/contacts/{contact_id}/merge", json={"other_id": contact_id})
    missing = await admin.post(f"/api/v1/contacts/{contact_id}/merge", json={"other_id": 999_999})
    assert (itself.status_code, itself.json()["code"]) == (422, "merge_self")
    assert missing.status_code == 404


async def test_search_finds_contacts_by_name_and_address(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    await post_incoming(running.client, inbox, external_id="1", sender="u1", name="مریم رضایی")
    await post_incoming(running.client, inbox, external_id="2", sender="u2", name="John Smith")
    by_name = (await admin.get("/api/v1/contacts", params={"q": "مریم"})).json()["items"]
    by_address = (await admin.get("/api/v1/contacts", params={"q": ":u2"})).json()["items"]
    assert [c["name"] for c in by_name] == ["مریم رضایی"]
    assert [c["name"] for c in by_address] == ["John Smith"]


async def test_contact_name_can_be_edited(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    stored = (await post_incoming(running.client, inbox, external_id="1")).json()
    contact_id = (await admin.get(f"/api/v1/conversations/{stored['conversation_id']}")).json()[
        "contact"
    ]["id"]
    renamed = await admin.patch(f"/api/v1/contacts/{contact_id}", json={"name": "Ali Karimi"})
    assert renamed.json()["name"] == "Ali Karimi"
    listed = (await admin.get("/api/v1/conversations")).json()["items"][0]
    assert listed["contact"]["name"] == "Ali Karimi"


async def test_a_merged_contacts_id_is_never_given_to_anyone_else(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)

    async def contact_of(sender: str) -> int:
        answer = await post_incoming(running.client, inbox, external_id=sender, sender=sender)
        conversation_id = answer.json()["conversation_id"]
        conversation = (await admin.get(f"/api/v1/conversations/{conversation_id}")).json()
        return int(conversation["contact"]["id"])

    kept, merged = await contact_of("sara"), await contact_of("sara-again")
    assert merged > kept  # the newest contact holds the highest id
    answer = await admin.post(f"/api/v1/contacts/{kept}/merge", json={"other_id": merged})
    assert answer.status_code == 200, answer.text
    newcomer = await contact_of("ali")
    assert newcomer > merged
    assert (await admin.get(f"/api/v1/contacts/{merged}")).status_code == 404
