"""Charts as inline SVG, drawn at build time: no JavaScript and nothing fetched by the phone."""
from __future__ import annotations

from markupsafe import Markup, escape


def progress_bar(percent: int, label: str = "") -> Markup:
    """A horizontal bar filled to ``percent`` (0–100), with its text for screen readers."""
    percent = max(0, min(100, int(percent)))
    text = escape(label or f"完成 {percent}%")
    return Markup(
        f'<svg class="xfjy-progress" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="{text}">'
        f'<rect width="100" height="6" rx="3" fill="#e0e0e0"/>'
        f'<rect width="{percent}" height="6" rx="3" fill="#2e7d32"/></svg>'
    )


def quota_chart(lines) -> Markup:
    """Pilot villages with a fund per 盟市 against the 附件1 quota (a grey bar filled in green)."""
    lines = list(lines)
    row, left, width = 26, 96, 300
    top = max([line.quota for line in lines] + [line.set_up for line in lines] + [1])
    scale = width / top
    parts = [f'<svg class="xfjy-chart" viewBox="0 0 480 {row * len(lines) + 8}" role="img" '
             f'aria-label="各盟市试点村社设立互助基金情况">']
    for index, line in enumerate(lines):
        y = index * row + 4
        done = min(line.set_up, line.quota) if line.quota else line.set_up
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="13">{escape(line.prefecture.name)}</text>'
            f'<rect x="{left}" y="{y}" width="{line.quota * scale:.1f}" height="18" fill="#eeeeee" stroke="#bdbdbd"/>'
            f'<rect x="{left}" y="{y}" width="{done * scale:.1f}" height="18" fill="#2e7d32"/>'
            f'<text x="{left + 6 + max(line.quota, line.set_up) * scale:.1f}" y="{y + 15}" font-size="13">'
            f'{line.set_up} / {line.quota}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
