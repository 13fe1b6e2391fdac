"""``report.html``: one self-contained page (inline CSS, images as data URIs, no script, no external link).

A Content-Security-Policy forbids every network fetch, so the page renders the same offline, and every
piece of text from the inputs (file names, ids, error messages, model card) is HTML-escaped.

Example:
    >>> page = render_html({"title": "t", "intended_use": "Research use only.", "metrics": {}}, {}, sections=[])
    >>> page.startswith("<!DOCTYPE html>"), "Research use only." in page
    (True, True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from medms.report.figures import FIGURE_CAPTIONS
from medms.report.plots import png_data_uri
from medms.report.sections import Section, Table, build_sections

__all__ = ["render_html"]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --accent: #0b6e99; --warn-bg: #fff4e5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #f5f7fa; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 12px; color: var(--accent); }
h3 { font-size: 16px; margin: 16px 0 8px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.notice { background: var(--warn-bg); border-left: 5px solid #e8a33d; padding: 10px 14px; margin: 12px 0; }
nav ul { list-style: none; padding: 0; margin: 8px 0 16px; display: flex; flex-wrap: wrap; gap: 6px 16px; }
nav a { color: var(--accent); text-decoration: none; }
section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px;
          margin: 0 0 18px; overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; flex: 0 1 460px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 13px; padding-bottom: 24px; }
"""


_NUM = r"[-−]?\d[\d.]*"
_NUMERIC = re.compile(rf"^{_NUM}(?: – {_NUM}| \({_NUM} – {_NUM}\))?%?$")


def _is_numeric(text: str) -> bool:
    # Right-align numbers and "value (low – high)" cells only, so that text cells stay readable.
    return bool(_NUMERIC.match(text))


def _table(table: Table) -> str:
    parts = []
    if table.title:
        parts.append(f"<h3>{escape(table.title)}</h3>")
    head = "".join(f"<th scope='col'>{escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{escape(c)}</td>" if _is_numeric(c) else f"<td>{escape(c)}</td>" for c in row
        )
        + "</tr>"
        for row in table.rows
    )
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    if table.note:
        parts.append(f"<p class='note'>{escape(table.note)}</p>")
    return "\n".join(parts)


def _figure(name: str, png: bytes) -> str:
    caption = escape(FIGURE_CAPTIONS.get(name, name))
    return (
        f"<figure><img src='{png_data_uri(png)}' alt='{caption}' data-figure='{escape(name)}'>"
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _section(section: Section, figures: Mapping[str, bytes]) -> str:
    parts = [f"<section id='{escape(section.key)}'><h2>{escape(section.title)}</h2>"]
    parts += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
    parts += [_table(t) for t in section.tables]
    drawn = [_figure(name, figures[name]) for name in section.figures if name in figures]
    if drawn:
        parts.append("<div class='figures'>" + "".join(drawn) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(
    report: Mapping[str, Any], figures: Mapping[str, bytes], *, sections: Sequence[Section] | None = None
) -> str:
    """The HTML document of a report dict with its figures (PNG bytes by name) embedded.

    ``sections`` defaults to :func:`medms.report.sections.build_sections` of ``report``.
    """
    sections = build_sections(report) if sections is None else sections
    title = escape(str(report.get("title", "medms evaluation report")))
    versions = report.get("versions") or {}
    meta = " · ".join(
        part
        for part in (
            f"created {report['created_utc']}" if report.get("created_utc") else "",
            f"medms {versions['medms']}" if versions.get("medms") else "",
            f"report schema {report['schema_version']}" if report.get("schema_version") else "",
        )
        if part
    )
    toc = "".join(f"<li><a href='#{escape(s.key)}'>{escape(s.title)}</a></li>" for s in sections)
    body = "\n".join(_section(s, figures) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="meta">{escape(meta)}</p>
<div class="notice" role="note"><strong>{escape(str(report.get("intended_use", "")))}</strong></div>
<nav aria-label="Contents"><ul>{toc}</ul></nav>
</header>
<main>
{body}
</main>
<footer><p>Every number is also in report.json (machine-readable). Intervals are
{escape(_level(report))} confidence intervals.</p></footer>
</body>
</html>
"""


def _level(report: Mapping[str, Any]) -> str:
    level = (report.get("inputs") or {}).get("level", 0.95)
    return f"{100 * level:g}%"
