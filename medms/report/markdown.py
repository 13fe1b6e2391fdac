"""``report.md``: the report's tables as GitHub-flavoured Markdown, for a paper draft or a merge request.

Figures stay in report.html; the Markdown holds the same sections and numbers as text.

Example:
    >>> from medms.report.sections import Section, Table
    >>> text = render_markdown({"title": "t", "intended_use": "Research only."},
    ...                        sections=[Section("s", "S", tables=[Table(["a", "b"], [["1", "x|y"]])])])
    >>> "| 1 | x\\\\|y |" in text
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medms.report.sections import Section, Table, build_sections

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    # A pipe would end the cell and a newline the row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table(table: Table) -> list[str]:
    lines = [f"### {table.title}", ""] if table.title else []
    lines.append("| " + " | ".join(_cell(c) or " " for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{_cell(table.note)}_"]
    return [*lines, ""]


def render_markdown(report: Mapping[str, Any], *, sections: Sequence[Section] | None = None) -> str:
    """The Markdown document of a report dict (sections default to ``build_sections(report)``)."""
    sections = build_sections(report) if sections is None else sections
    lines = [f"# {report.get('title', 'medms evaluation report')}", ""]
    lines += [f"> **{_cell(str(report.get('intended_use', '')))}**", ""]
    if report.get("created_utc"):
        lines += [f"Created {report['created_utc']}; report schema {report.get('schema_version')}.", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [_cell(paragraph), ""]
        for table in section.tables:
            lines += _table(table)
    return "\n".join(lines).rstrip() + "\n"
