"""Where the tests find the corpus of real payloads (`tests/corpus/`, a copy of the shared
one). An empty or missing folder is an error, never a silently empty parametrization."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "corpus"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def corpus_files(kind: str, pattern: str) -> list[Path]:
    found = sorted((ROOT / kind).glob(pattern))
    if not found:
        raise RuntimeError(f"no {pattern} files in {ROOT / kind}: the corpus is missing")
    return found
