"""The report landing page and the end-of-run message (pure functions, no I/O).

``render_report`` builds one self-contained HTML page: every figure embedded as a base64 PNG,
its caption directly under it, the paper's figures before the extensions, and per
``summary.json`` block a table of its headline numbers (scalars at the top level of the block
and one level down, 4 significant figures; lists summarised by their length). The page has
no external resources, no timestamps and no machine paths, so it is byte-identical for
identical inputs.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CSS = """
body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #2166ac;padding-bottom:.2em;
margin-top:2em}h3{margin-bottom:.3em}
figure{margin:1.2em 0 2em 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.92em;color:#333;margin-top:.5em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0 1.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f0f4f8}
td.num{text-align:right;font-family:monospace}
"""


@dataclass(frozen=True)
class FigureEntry:
    """One figure of the report: file stem, its experiment, and the bytes to embed."""

    stem: str
    experiment: str
    title: str
    paper: bool
    png: bytes
    caption: str


def fmt(value: object) -> str:
    """A table cell: numbers to 4 significant figures, lists by their length."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return f"list of {len(value)}"
    return html.escape(str(value))


def _is_scalar(value: object) -> bool:
    return isinstance(value, (bool, int, float, str)) or value is None


def headline_rows(block: Mapping[str, object]) -> list[tuple[str, str]]:
    """(dotted key, formatted value) for scalars and lists at depth 1 and 2 of ``block``."""
    rows: list[tuple[str, str]] = []
    for key, value in block.items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                if _is_scalar(inner) or isinstance(inner, (list, tuple)):
                    rows.append((f"{key}.{sub}", fmt(inner)))
        elif _is_scalar(value) or isinstance(value, (list, tuple)):
            rows.append((str(key), fmt(value)))
    return rows


def rst_to_html(text: str) -> str:
    """Plain text / simple rst → HTML paragraphs (blank-line separated; ``code`` and *em*)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for p in paragraphs:
        p = html.escape(" ".join(p.split()))
        p = re.sub(r"``(.+?)``", r"<code>\1</code>", p)
        p = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", p)
        p = re.sub(r"\*(.+?)\*", r"<em>\1</em>", p)
        out.append(f"<p>{p}</p>")
    return "\n".join(out)


def _table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{html.escape(k)}</td><td class=\"num\">{v}</td></tr>"
                   for k, v in rows)
    return f"<table><tr><th>quantity</th><th>value</th></tr>{body}</table>"


def _figure(fig: FigureEntry) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (f'<section id="{html.escape(fig.stem)}"><h3>{html.escape(fig.title)}</h3>'
            f'<figure><img alt="{html.escape(fig.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{rst_to_html(fig.caption)}</figcaption></figure></section>")


def render_report(summary: Mapping[str, object], figures: Sequence[FigureEntry],
                  scale: str = "") -> str:
    """The landing page: paper figures, then extensions, then headline numbers per block."""
    title = "Convex efficient coding: results" + (f" ({scale} scale)" if scale else "")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if scale:
        parts.append(f"<p>Scale: <strong>{html.escape(scale)}</strong>.</p>")
    for heading, paper in (("The paper's figures", True),
                           ("Extensions (the project's own analyses)", False)):
        chosen = [f for f in figures if f.paper is paper]
        if chosen:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.extend(_figure(f) for f in chosen)
    parts.append("<h2>Headline numbers (summary.json)</h2>")
    for name, block in summary.items():
        if isinstance(block, Mapping):
            parts.append(f"<h3>{html.escape(str(name))}</h3>{_table(headline_rows(block))}")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _agreements(block: object, prefix: str = "") -> list[str]:
    """Every ``agreement`` key (any depth), as 'prefix.key = value' lines (a count pair
    ``{agree, compared}`` as 'agree/compared')."""
    out: list[str] = []
    if isinstance(block, Mapping):
        for key, value in block.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if "agreement" in str(key) and _is_scalar(value):
                out.append(f"  {path} = {fmt(value)}")
            elif ("agreement" in str(key) and isinstance(value, Mapping)
                  and {"agree", "compared"} <= set(value)):
                out.append(f"  {path} = {value['agree']}/{value['compared']}")
            else:
                out.extend(_agreements(value, path))
    return out


def end_of_run_message(scale: str, summary: Mapping[str, object],
                       wall_seconds: float | None = None) -> str:
    """Where the outputs of ``scale`` are, the headline agreements of ``summary``, wall time."""
    took = "" if wall_seconds is None else f" in {wall_seconds:.0f} s"
    lines = [f"Finished ({scale} scale){took}.",
             f"  figures: results/{scale}/figures/*.png, *.pdf",
             f"  summary: results/{scale}/summary.json",
             f"  report:  results/{scale}/report.html (snakemake --cores 1"
             f" results/{scale}/report.html --config scale={scale})",
             "Agreement with theory:"]
    agreements = _agreements(summary)
    lines.extend(agreements or ["  (no agreement numbers in summary.json)"])
    return "\n".join(lines)
