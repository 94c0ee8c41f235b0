"""Release: cut a city's canonical record down to what the decisions allow, masking as they say.

The record goes in as the JSON form of ``PersonRecords``; what comes out has the same shape with every
withheld category and field absent (a domain the city holds nothing on stays ``null`` when any of its
categories is released, so "holds nothing" and "withheld" read differently).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.catalogue import CATEGORIES
from governance.engine import Decision
from governance.masks import apply_mask


def release(record: Mapping[str, Any], decisions: Mapping[str, Decision], *, hash_key: bytes) -> dict[str, Any]:
    """``record`` with only what ``decisions`` (category → decision) release; ``city`` is always kept."""
    out: dict[str, Any] = {"city": record.get("city")}
    for name, decision in decisions.items():
        if not decision.allowed:
            continue
        category = CATEGORIES[name]
        *parents, leaf = category.path
        source: Any = record
        target = out
        for key in parents:
            source = source.get(key) if isinstance(source, Mapping) else None
            if source is None:
                target[key] = None  # the city holds nothing in this domain
                break
            target = target[key] if isinstance(target.get(key), dict) else target.setdefault(key, {})
        else:
            value = source.get(leaf) if isinstance(source, Mapping) else None
            cleared = frozenset(decision.fields)  # once per category: a list has a hundred items and more
            if category.many:
                target[leaf] = [_cut(item, decision, cleared, hash_key) for item in value or ()]
            else:
                target[leaf] = None if value is None else _cut(value, decision, cleared, hash_key)
    return out


def _cut(item: Mapping[str, Any], decision: Decision, cleared: frozenset[str], hash_key: bytes) -> Mapping[str, Any]:
    """``item`` as ``decision`` releases it; ``cleared`` is the set of ``decision.fields``."""
    if not decision.masks and item.keys() <= cleared:
        return item  # released whole (a resident's own records): no copy
    kept = {name: item[name] for name in decision.fields if name in item}
    for name, mask in decision.masks.items():
        if name in item:
            kept[name] = apply_mask(mask, item[name], hash_key=hash_key)
    return kept
