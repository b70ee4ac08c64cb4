"""The ``status`` report as one self-contained HTML file: inline CSS, no scripts, no external assets, every
value escaped. A firm can mail it to its management as it is."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from provider.cli.status import ClientStatus

_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1d232a; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
p.meta { color: #5b6670; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #d9dee3; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f1f4f7; position: sticky; top: 0; }
tr.problem td { background: #fff1f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
.stage-IN_PRODUCTION { color: #177245; font-weight: 600; }
.stage-TRAINING { color: #9a6700; font-weight: 600; }
.stage-FAILED, .stage-INACTIVE { color: #b42318; font-weight: 600; }
.summary span { display: inline-block; margin-right: 1.2rem; }
"""


def render_report(rows: Sequence[ClientStatus], columns: Mapping[str, str], *, title: str) -> str:
    e = html.escape
    with_problems = sum(1 for row in rows if row.problems)
    stages: dict[str, int] = {}
    for row in rows:
        stages[row.stage] = stages.get(row.stage, 0) + 1
    head = "".join(f"<th>{e(heading)}</th>" for heading in columns.values())
    body = []
    for row in rows:
        cells = []
        for key in columns:
            if key.endswith("days"):
                css = ' class="num"'
            elif key == "stage":
                css = f' class="stage-{e(row.stage)}"'
            elif key in ("business_id", "verified", "rotated"):
                css = ' class="nowrap"'
            else:
                css = ""
            cells.append(f"<td{css}>{e(row.cell(key))}</td>")
        marker = ' class="problem"' if row.problems else ""
        body.append(f"<tr{marker}>{''.join(cells)}</tr>")
    summary = "".join(f"<span>{e(stage)}: <b>{count}</b></span>" for stage, count in sorted(stages.items()))
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{e(title)}</h1><p class="meta">{len(rows)} clients, {with_problems} with problems; '
        f"generated {e(generated)} by fabricai-roster status</p>"
        f'<p class="summary">{summary}</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )


def write_report(path: Path, rows: Sequence[ClientStatus], columns: Mapping[str, str], *, title: str) -> None:
    from provider.cli.stack import OperatorError

    try:
        path.write_text(render_report(rows, columns, title=title), encoding="utf-8")
    except OSError as error:
        raise OperatorError(f"cannot write the HTML report to {path}: {error.strerror}") from None
