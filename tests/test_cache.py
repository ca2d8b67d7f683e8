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


# ------------------------------------------- re-verification, schemas, uncertified entries

from convex_coding.pipeline.cache import check_fields, solve_cached  # noqa: E402
from convex_coding.pipeline.errors import CertificateError, UncertifiedError  # noqa: E402


def test_entry_failing_verification_is_moved_aside(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = content_key({"p": 1})
    path = cache.put(key, {"gap": 0.5})

    def verify(payload: dict) -> None:
        if payload["gap"] > 1e-6:
            raise CertificateError("gap too large")

    assert cache.get(key, verify=verify) is None
    assert not path.exists() and path.with_suffix(".rejected").exists()


@pytest.mark.parametrize("payload,where", [
    ({"a": {"b": 1.0}}, None),
    ({"a": {}}, "payload.a.b is missing"),
    ({"a": {"b": float("nan")}}, "payload.a.b=nan is not"),
    ({"a": {"b": True}}, "payload.a.b=True is not"),
    ({"a": []}, "payload.a is not an object"),
])
def test_field_schema(payload: dict, where: str | None) -> None:
    if where is None:
        check_fields(payload, {"a": {"b": float}})
    else:
        with pytest.raises(CertificateError, match=where.replace(".", r"\.")):
            check_fields(payload, {"a": {"b": float}})


def test_every_schema_kind() -> None:
    check_fields({"f": 1.5, "n": None, "i": 2, "b": False, "s": "x", "l": [], "d": {"k": 1}},
                 {"f": float, "n": "number?", "i": int, "b": bool, "s": str, "l": list,
                  "d": dict})
    with pytest.raises(CertificateError, match=r"payload\.d=.* is not a"):
        check_fields({"d": [1]}, {"d": dict})


def test_matrix_fields() -> None:
    check_fields({"m": [[1.0, 2.0], [3.0, 4.0]], "n": None}, {"m": "matrix", "n": "matrix?"})
    for bad in ([], [[1.0], [2.0, 3.0]], [[1.0, None]], "x"):
        with pytest.raises(CertificateError):
            check_fields({"m": bad}, {"m": "matrix"})


def test_uncertified_entry_is_never_a_result(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = content_key({"p": 2})
    cache.put_uncertified(key, "reduced cost −0.5")
    with pytest.raises(UncertifiedError, match=r"reduced cost −0\.5.*recorded as uncertified"):
        cache.get(key, verify=lambda p: None)
    with pytest.raises(UncertifiedError):
        cache.get(key)  # with or without a verify: never returned


def test_uncertified_entry_without_reason_is_rejected(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = content_key({"p": 3})
    path = cache.put(key, {"uncertified": True})
    assert cache.get(key) is None and path.with_suffix(".rejected").exists()


def test_solve_cached_records_certificate_failures_only(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    calls: list[str] = []

    def failing() -> dict:
        calls.append("solve")
        raise CertificateError("gap 0.1")

    with pytest.raises(CertificateError):
        solve_cached(cache, "a" * 64, failing)
    with pytest.raises(UncertifiedError):
        solve_cached(cache, "a" * 64, failing)
    assert calls == ["solve"]  # the second call did not solve

    def crashing() -> dict:
        raise MemoryError

    with pytest.raises(MemoryError):
        solve_cached(cache, "b" * 64, crashing)
    assert not cache.path("b" * 64).exists()  # not deterministic: nothing recorded
    assert solve_cached(cache, "c" * 64, lambda: {"v": 1}) == ({"v": 1}, False)
    assert solve_cached(cache, "c" * 64, lambda: {"v": 2}) == ({"v": 1}, True)


def test_entries_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        path = ResultCache(tmp_path).put(content_key({"u": 1}), {"v": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o664


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to act as a second user")
def test_group_shared_cache_between_two_users() -> None:
    """Entries written by one user (umask 002, setgid group folder) are valid for another
    user of the group, and the other way round; nothing is renamed as corrupt."""
    import shutil
    import subprocess
    import sys
    import tempfile

    gid = 65534
    root = Path(tempfile.mkdtemp(dir="/tmp", prefix="shared-cache-"))
    try:
        os.chown(root, 0, gid)
        os.chmod(root, 0o2775)
        old = os.umask(0o002)
        try:
            key = content_key({"shared": 1})
            ResultCache(root).put(key, {"v": 1})
        finally:
            os.umask(old)
        # the second user runs this very cache module; its interpreter may lack NumPy
        # (the cache's reads and writes do not use it), so a stand-in is given
        pipeline = Path(__file__).resolve().parents[1] / "src" / "convex_coding" / "pipeline"
        code = ("import os, sys, types, importlib.util; os.umask(0o002);"
                "sys.modules['numpy'] = types.SimpleNamespace(ndarray=bytes, generic=bytes,"
                " isfinite=lambda x: True);"
                "pkg = types.ModuleType('shared'); pkg.__path__ = [sys.argv[1] + '/..'];"
                "sub = types.ModuleType('shared.pipeline'); sub.__path__ = [sys.argv[1]];"
                "sys.modules['shared'] = pkg; sys.modules['shared.pipeline'] = sub;"
                "spec = importlib.util.spec_from_file_location('shared.pipeline.cache',"
                " sys.argv[1] + '/cache.py');"
                "m = importlib.util.module_from_spec(spec);"
                " sys.modules['shared.pipeline.cache'] = m;"
                "spec.loader.exec_module(m);"
                "c = m.ResultCache(sys.argv[2]); assert c.get(sys.argv[3]) == {'v': 1};"
                "c.put(sys.argv[4], {'v': 2}); c.put(sys.argv[5], {'v': 3})")
        same_folder = key[:2] + "0" * 62  # an entry in the folder the first user made
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        try:
            subprocess.run([python, "-c", code, str(pipeline), str(root), key,
                            same_folder, content_key({"shared": 2})], check=True,
                           user=65534, group=gid, extra_groups=[gid], timeout=60,
                           capture_output=True)
        except PermissionError:
            pytest.skip("no interpreter the second user may run")
        assert ResultCache(root).get(same_folder) == {"v": 2}
        cache = ResultCache(root)
        assert cache.get(content_key({"shared": 2})) == {"v": 3}
        assert cache.get(key) == {"v": 1}
        assert not list(root.rglob("*.corrupt"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
