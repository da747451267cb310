"""The committed real-Keras fixtures (tests/fixtures/MANIFEST*.json), for parametrising tests."""
from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def manifest() -> list[dict]:
    entries: list[dict] = []
    for mf in sorted(FIXTURES.glob("MANIFEST*.json")):
        entries.extend(json.loads(mf.read_text()))
    return entries


def cases(include_tags=None, exclude_tags=("refuse",)) -> list[dict]:
    out = []
    for e in manifest():
        tags = set(e.get("tags", []))
        if exclude_tags and tags & set(exclude_tags):
            continue
        if include_tags is not None and not tags & set(include_tags):
            continue
        out.append(e)
    return out


def case_id(e: dict) -> str:
    return f"{e['format']}-{e['name']}"


def find(name: str, fmt: str) -> dict:
    for e in manifest():
        if e["name"] == name and e["format"] == fmt:
            return e
    raise KeyError(f"{fmt}/{name}")
