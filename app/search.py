"""Substring search over what agents look for: message text, conversation subjects, contact
names and addresses.

What an agent types may be any part of a word, in any script, so search is a
case-insensitive substring match ("über" finds "Über"; on SQLite, whose LIKE folds ASCII
letters only, through a function of ours where the query has other cased letters). A plain
`LIKE '%…%'` reads every row: fine for a few thousand messages, most of a second at half a
million. So each searched column has a trigram index, which finds the rows holding a rare
string at once: on PostgreSQL a pg_trgm GIN index (the planner uses it for ILIKE), on SQLite
an FTS5 table with the `trigram` tokenizer over the column (external content, kept in step
by triggers; a phrase MATCH on it finds a substring of three characters or more, folding
any script's case). Both are created by migration 0007, outside the models, which have no
words for them.

A trigram index answers "which rows hold this" fast when they are few; when they are
many (a common word), walking the conversations newest first and stopping at the first
page is faster. `conversation_match` probes the index for up to PROBE_LIMIT rows and picks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    column,
    exists,
    func,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.contacts.models import Contact, ContactIdentity
from app.db import SQLITE_CONTAINS_FOLDED, Base
from app.tickets.models import Conversation, Message

metadata = Base.metadata

# table → its searched column (the rows' own primary key is `id`)
SEARCHED = {
    "messages": "body_text",
    "conversations": "subject",
    "contacts": "name",
    "contact_identities": "address",
}
# More matching rows than this: the string is common, and walking stops sooner.
PROBE_LIMIT = 1000
# The shortest query a trigram index can answer; a shorter one is checked row by row.
TRIGRAM = 3


def fts_table(table_name: str) -> str:
    """The SQLite FTS5 table indexing `table_name`'s searched column."""
    return f"{table_name}_search"


def trigram_index(table_name: str) -> str:
    """The PostgreSQL pg_trgm index on `table_name`'s searched column."""
    return f"ix_{table_name}_{SEARCHED[table_name]}_trgm"


def is_search_object(name: str | None) -> bool:
    """Whether a schema object is one of the search indexes (which the models leave out)."""
    return name is not None and any(
        name == trigram_index(t) or name.startswith(fts_table(t)) for t in SEARCHED
    )


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _contains(
    session: AsyncSession, text: ColumnElement[Any] | QueryableAttribute[Any], q: str
) -> ColumnElement[bool]:
    """`text` holds `q`, case-insensitively, `q`'s own `%`, `_` and `\\` taken literally.
    (SQLite's LIKE ignores ASCII case already, and is much faster than its ILIKE, which
    lowers both sides.)"""
    q = q.strip()
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if not _is_sqlite(session):
        return text.ilike(pattern, escape="\\")
    if _has_non_ascii_case(q):
        folded: ColumnElement[Any] = getattr(func, SQLITE_CONTAINS_FOLDED)(text, q)
        return folded.is_(True)
    return text.like(pattern, escape="\\")


def _has_non_ascii_case(q: str) -> bool:
    return any(not c.isascii() and c.lower() != c.upper() for c in q)


def _rows_holding(session: AsyncSession, table_name: str, q: str) -> tuple[FromClause, Select[()]]:
    """The rows of `table_name` whose searched column holds `q`, found through its trigram
    index where `q` is long enough: (the table, a SELECT without columns over it, to join
    and pick from)."""
    searched = metadata.tables[table_name]
    column_name = SEARCHED[table_name]
    q = q.strip()
    if not _is_sqlite(session) or len(q) < TRIGRAM:
        exactly = _contains(session, searched.c[column_name], q)
        return searched, select().select_from(searched).where(exactly)
    # A phrase: every character literal (a quote doubled). A join (not IN) lets a LIMIT
    # stop the index's scan early.
    index = table(fts_table(table_name), column("rowid"), column(column_name))
    phrase = '"' + q.replace('"', '""') + '"'
    return searched, (
        select()
        .select_from(index.join(searched, searched.c.id == index.c.rowid))
        .where(index.c[column_name].match(phrase))
    )


async def conversation_match(session: AsyncSession, q: str) -> ColumnElement[bool]:
    """A condition on Conversation: its subject, its contact's name or an address, or the
    text of any of its messages holds `q`."""
    conversations = metadata.tables["conversations"]
    _, by_subject = _rows_holding(session, "conversations", q)
    contacts, by_name = _rows_holding(session, "contacts", q)
    identities, by_address = _rows_holding(session, "contact_identities", q)
    messages, by_text = _rows_holding(session, "messages", q)
    # UNION ALL streams, so the probe stops after PROBE_LIMIT rows even for a common word.
    holding = union_all(
        by_subject.add_columns(conversations.c.id),
        by_name.join(conversations, conversations.c.contact_id == contacts.c.id).add_columns(
            conversations.c.id
        ),
        by_address.join(
            conversations, conversations.c.contact_id == identities.c.contact_id
        ).add_columns(conversations.c.id),
        by_text.add_columns(messages.c.conversation_id),
    )
    found = (await session.scalars(holding.limit(PROBE_LIMIT + 1))).all()
    if len(found) <= PROBE_LIMIT:
        return Conversation.id.in_(set(found))
    # Common: the newest conversations are likely to hold it; check them one by one.
    return or_(
        _contains(session, Conversation.subject, q),
        Conversation.contact_id.in_(select(Contact.id).where(_contains(session, Contact.name, q))),
        Conversation.contact_id.in_(
            select(ContactIdentity.contact_id).where(_contains(session, ContactIdentity.address, q))
        ),
        exists().where(
            Message.conversation_id == Conversation.id, _contains(session, Message.body_text, q)
        ),
    )


def contact_match(session: AsyncSession, q: str) -> ColumnElement[bool]:
    """A condition on Contact: its name or one of its addresses holds `q`."""
    contacts, by_name = _rows_holding(session, "contacts", q)
    identities, by_address = _rows_holding(session, "contact_identities", q)
    return or_(
        Contact.id.in_(by_name.add_columns(contacts.c.id)),
        Contact.id.in_(by_address.add_columns(identities.c.contact_id)),
    )
