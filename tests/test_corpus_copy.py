"""The vendored corpus is the shared one, byte for byte (where the shared one is present:
on a CI machine only the copy is)."""

from __future__ import annotations

import filecmp

import pytest

from tests.support.corpus import ROOT, SHARED


@pytest.mark.parametrize("kind", ["email", "telegram", "twilio"])
def test_the_copy_matches_the_shared_corpus(kind: str) -> None:
    shared = SHARED / kind
    if not shared.is_dir():
        return  # nothing to compare with on this machine: the copy is the corpus
    names = sorted(p.name for p in shared.iterdir())
    assert names == sorted(p.name for p in (ROOT / kind).iterdir()), "run `make corpus`"
    _same, mismatch, errors = filecmp.cmpfiles(shared, ROOT / kind, names, shallow=False)
    assert (mismatch, errors) == ([], []), "run `make corpus`"
