"""Content-addressed cache: hits, misses, and that bad entries are never used."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from convex_coding.pipeline.cache import ResultCache, array_digest, atomic_write_text, content_key


def test_hit_and_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = content_key({"a": 1})
    assert cache.get(key) is None
    cache.put(key, {"value": 1.5, "list": [1, 2]})
    assert cache.get(key) == {"value": 1.5, "list": [1, 2]}
    assert cache.get(content_key({"a": 2})) is None


def test_key_depends_on_every_byte_of_the_data() -> None:
    a = np.linspace(0, 1, 10)
    b = a.copy()
    b[3] = np.nextafter(b[3], 2.0)
    assert array_digest(a) != array_digest(b)
    assert array_digest(a) != array_digest(a.reshape(2, 5))
    assert content_key({"x": 1, "y": 2}) == content_key({"y": 2, "x": 1})


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated (partial write)
        lambda text: "",  # empty file
        lambda text: text.replace("1.5", "2.5"),  # payload changed, checksum stale
        lambda text: "\x00garbage",  # not JSON
        lambda text: json.dumps({"format": 1, "payload": {}}),  # missing fields
    ],
)
def test_corrupt_or_partial_entries_are_never_used(tmp_path: Path, damage) -> None:
    cache = ResultCache(tmp_path)
    key = content_key({"problem": "p"})
    path = cache.put(key, {"value": 1.5})
    path.write_text(damage(path.read_text()))
    assert cache.get(key) is None
    assert not path.exists()  # moved aside, so the next run recomputes and rewrites
    assert path.with_suffix(".corrupt").exists()
    cache.put(key, {"value": 1.5})
    assert cache.get(key) == {"value": 1.5}


def test_entry_under_another_key_is_rejected(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    k1, k2 = content_key({"n": 1}), content_key({"n": 2})
    cache.put(k1, {"value": 1})
    cache.path(k2).parent.mkdir(parents=True, exist_ok=True)
    os.replace(cache.path(k1), cache.path(k2))
    assert cache.get(k2) is None


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.json"

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "{}")
    assert list(tmp_path.iterdir()) == []
