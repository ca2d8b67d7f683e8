"""The figure cache: a restore gives back the drawn bytes, any change of what decides a
figure changes its key, a damaged entry is never used, and a hit imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convex_coding.pipeline import figure_cache
from convex_coding.pipeline.figure_cache import FigureCache, figure_key


@pytest.fixture
def job(tmp_path: Path) -> dict:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.json").write_text('[{"agree": true}]')
    (inputs / "b.json").write_text('[{"agree": false}]')
    out = tmp_path / "out"
    outputs = {"pdf": out / "fig.pdf", "png": out / "fig.png", "summary": out / "s.json"}
    return {"inputs": {"batches": [str(inputs / "a.json"), str(inputs / "b.json")]},
            "params": {"showcase_p0": [0.05, 0.3]}, "outputs": outputs, "tmp": tmp_path}


def _draw(outputs: dict) -> dict[str, bytes]:
    data = {"pdf": b"%PDF-1.4 drawn", "png": b"\x89PNG drawn", "summary": b'{"x": 1}'}
    for name, path in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[name])
    return data


def _key(job: dict, **change) -> str:
    args = {"experiment": "on_off", "inputs": job["inputs"], "params": job["params"],
            "outputs": job["outputs"], **change}
    return figure_key(args["experiment"], args["inputs"], args["params"], args["outputs"])


def test_a_restore_writes_back_exactly_the_stored_outputs(job: dict) -> None:
    cache = FigureCache(job["tmp"] / "cache")
    key = _key(job)
    assert not cache.restore(key, job["outputs"])  # a miss writes nothing
    assert not any(p.exists() for p in job["outputs"].values())
    drawn = _draw(job["outputs"])
    cache.store(key, job["outputs"])
    for path in job["outputs"].values():
        path.unlink()
    assert cache.restore(key, job["outputs"])
    assert {n: p.read_bytes() for n, p in job["outputs"].items()} == drawn


def test_the_key_follows_every_input_byte_param_format_and_the_code(job: dict,
                                                                    monkeypatch) -> None:
    base = _key(job)
    assert _key(job) == base  # deterministic
    first = Path(job["inputs"]["batches"][0])
    first.write_text(first.read_text().replace("true", "false"))
    assert _key(job) != base  # one record changed
    first.write_text('[{"agree": true}]')
    assert _key(job) == base
    swapped = {"batches": list(reversed(job["inputs"]["batches"]))}
    assert _key(job, inputs=swapped) != base  # inputs are ordered
    assert _key(job, params={"showcase_p0": [0.05, 0.31]}) != base
    assert _key(job, experiment="identifiability") != base
    svg = {**job["outputs"], "png": job["outputs"]["png"].with_suffix(".svg")}
    assert _key(job, outputs=svg) != base  # another format is another drawing
    monkeypatch.setattr(figure_cache, "package_digest", lambda: "edited code")
    assert _key(job) != base
    monkeypatch.setattr(figure_cache, "_version", lambda dist: "9.9")
    assert _key(job) != base


def test_the_package_digest_covers_the_figure_code_and_the_style_sheet() -> None:
    root = Path(figure_cache.__file__).resolve().parents[1]
    assert (root / "pipeline/figures/convex_coding.mplstyle").is_file()
    seen = figure_cache.package_digest.__wrapped__
    assert seen(root) == figure_cache.package_digest(root)
    assert len(seen(root)) == 64


@pytest.mark.parametrize("damage", ["blob", "manifest", "missing"])
def test_a_damaged_entry_is_removed_and_never_restored(job: dict, damage: str) -> None:
    cache = FigureCache(job["tmp"] / "cache")
    key = _key(job)
    _draw(job["outputs"])
    cache.store(key, job["outputs"])
    for path in job["outputs"].values():
        path.unlink()
    entry = cache.entry(key)
    if damage == "blob":
        (entry / "png").write_bytes(b"\x89PNG truncated")
    elif damage == "manifest":
        (entry / "manifest.json").write_text("{not json")
    else:
        (entry / "summary").unlink()
    assert not cache.restore(key, job["outputs"])
    assert not entry.exists()
    assert not any(p.exists() for p in job["outputs"].values())


def test_a_figure_cache_hit_imports_neither_numpy_nor_matplotlib(job: dict) -> None:
    cache_dir = job["tmp"] / "cache"
    key = _key(job)
    _draw(job["outputs"])
    FigureCache(cache_dir).store(key, job["outputs"])
    outs = {k: str(v) for k, v in job["outputs"].items()}
    code = (
        "import sys\n"
        "from convex_coding.pipeline.figure_cache import FigureCache\n"
        f"outs = {outs!r}\n"
        f"assert FigureCache({str(cache_dir)!r}).restore({key!r}, outs)\n"
        "print(' '.join(m for m in ('numpy', 'matplotlib', 'hydra') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split() == []
