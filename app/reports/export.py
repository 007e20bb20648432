"""A report as CSV: exactly the figures of its JSON answer, table by table.

Each part of the answer becomes a block: a line with the part's name, a header line with
its field names, one line per row (a part that is one object is one row), then a blank
line. The period comes first. Null is an empty cell."""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import BaseModel


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def to_csv(report: BaseModel) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for name in type(report).model_fields:
        part = getattr(report, name)
        rows: list[BaseModel]
        if isinstance(part, BaseModel):
            rows = [part]
        elif isinstance(part, list):
            rows = part
        else:  # a scalar beside the tables (the satisfaction report's `trend_step`)
            writer.writerows([[name], ["value"], [_cell(part)], []])
            continue
        fields = list(type(rows[0]).model_fields) if rows else []
        writer.writerow([name])
        writer.writerow(fields)
        # As the JSON answer writes them (an instant: 2026-12-01T09:40:00Z).
        dumped = [row.model_dump(mode="json") for row in rows]
        writer.writerows([_cell(row[f]) for f in fields] for row in dumped)
        writer.writerow([])
    return out.getvalue()
