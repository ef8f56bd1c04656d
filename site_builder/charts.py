"""Charts as inline SVG, drawn at build time: no JavaScript and nothing fetched by the phone."""
from __future__ import annotations

from typing import NamedTuple

from markupsafe import Markup, escape

from db.money import format_fen


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
    """Pilot villages with a fund per 盟市 against the 附件1 quota (a grey bar filled in green).

    Drawn 360 units wide, about a phone's width, so that its 13-unit text stays 13 px there."""
    lines = list(lines)
    row, left, width = 26, 84, 196
    top = max([line.quota for line in lines] + [line.set_up for line in lines] + [1])
    scale = width / top
    figures = "，".join(f"{line.prefecture.name} {line.set_up} / {line.quota}" for line in lines)
    parts = [f'<svg class="xfjy-chart xfjy-quota" viewBox="0 0 360 {row * len(lines) + 8}" role="img" '
             f'aria-label="各盟市已设立互助基金的试点村社 / 试点任务数：{escape(figures)}">']
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


# -- the charts of village and area pages (issue 14 item 6) -----------------------------------------------
#
# Each is a ``<figure>``: a caption that says what it shows, then an SVG 360 units wide (a phone's width, so
# its 13-unit text is 13 px there) with ``role="img"`` and an ``aria-label`` that states every figure drawn.
# Every part is labelled in words beside its bar; colour only repeats what the words say. One line each,
# no blank line: Python-Markdown passes the figure through as it is.

WIDTH = 360
GREEN, BLUE, AMBER, GREY, TRACK, AXIS = "#2e7d32", "#1565c0", "#f9a825", "#9e9e9e", "#eee", "#757575"
PART_COLOURS = (GREEN, BLUE, AMBER, GREY)  # spent, in the village, not yet passed down, moved to the fund
MOST_VILLAGES = 20  # a county page draws its villages that raised most; the table below lists all


class Bar(NamedTuple):
    """One row of an area chart: a 旗县市区 or a village, with the figures of its row in the table."""

    name: str
    raised: int
    spent: int


class Share(NamedTuple):
    """Villages with a 互助基金 among those registered in the programme, in one place."""

    name: str
    with_fund: int
    registered: int


def _yuan(fen: int) -> str:
    return format_fen(fen, unit=False)


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole percentage, rounded half up; a small share that rounds to 0 is "<1%"."""
    if whole <= 0:
        return "0%"
    value = (200 * part + whole) // (2 * whole)
    return "<1%" if value == 0 and part > 0 else f"{value}%"


def _bar(top: int, amount: int, whole: int, full: float, colour: str, height: int = 10) -> str:
    """A bar from the left edge, ``amount`` of ``whole`` on ``full`` units long (nothing for nothing)."""
    width = _width(amount, whole, full)
    return f'<rect y="{top}" width="{_num(width)}" height="{height}" fill="{colour}"/>' if width else ""


def _tracks(tops, full: int = WIDTH) -> str:
    """The grey tracks that bars of a share are drawn on, in one path."""
    return f'<path d="{"".join(f"M0 {top}h{full}v10H0z" for top in tops)}" fill="{TRACK}"/>'


def _width(amount: int, whole: int, full: float) -> float:
    """A bar's length: ``amount`` of ``whole`` on ``full`` units, never less than 2 units when there is any."""
    if whole <= 0 or amount <= 0:
        return 0.0
    return round(max(2.0, full * amount / whole), 1)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _figure(caption: str, height: int, label: str, body: str, kind: str) -> Markup:
    return Markup(
        f'<figure class="xfjy-figure xfjy-figure-{kind}" data-search-exclude><figcaption>{escape(caption)}</figcaption>'
        f'<svg class="xfjy-graph" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
        f'font-size="13" fill="#212121">{body}</svg></figure>'
    )


def _text(x: float, y: float, text: str, end: bool = False) -> str:
    anchor = ' text-anchor="end"' if end else ""
    return f'<text x="{_num(x)}" y="{_num(y)}"{anchor}>{escape(text)}</text>'


def money_chart(parts, raised: int, matched: int) -> Markup:
    """Where a village's money is now (``db.published.whereabouts``): a bar per part against the whole, which
    is what was raised plus the 配捐. Nothing is drawn before any money has come in."""
    parts = list(parts)
    whole = raised + matched
    if whole <= 0:
        return Markup("")
    caption = f"善款去向：已筹善款 {format_fen(raised)}" + (f"，配捐 {format_fen(matched)}" if matched else "")
    rows, said = [_tracks(index * 36 + 18 for index in range(len(parts)))], []
    for index, (part, colour) in enumerate(zip(parts, PART_COLOURS)):
        top, text = index * 36, f"{part.label} {format_fen(part.amount)}（{percent(part.amount, whole)}）"
        rows.append(_text(0, top + 13, text) + _bar(top + 18, part.amount, whole, WIDTH, colour))
        said.append(text)
    label = f"{caption}，现在：" + "；".join(said) + "。"
    return _figure(caption, len(parts) * 36 - 6, label, "".join(rows), "money")


def progress_chart(progress, starts_on, ends_on) -> Markup:
    """A project's gifts added up over time (``db.published.Progress``) against its target (dashed), from
    the start of fundraising (or the first gift, when earlier) to its end (or the last gift, when later)."""
    points = progress.points
    if not points:
        return Markup("")
    first, last = points[0], points[-1]
    begin, end = min(starts_on, first.on), max(ends_on, last.on)
    span = max((end - begin).days, 1)
    top, base, left, right = 22, 118, 2, WIDTH - 2
    high = max(progress.target, last.raised)

    def x(day) -> int:
        return round(left + (right - left) * (day - begin).days / span)

    def y(amount: int) -> int:
        return round(base - (base - top) * amount / high)

    kept: dict[int, tuple[int, int]] = {}
    for point in points:  # one vertex per 5 units of width: the total of its last day
        kept[x(point.on) // 5] = (x(point.on), y(point.raised))
    line = [(x(first.on), base)]
    for xy in kept.values():
        if xy != line[-1]:
            line.append(xy)
    body = [f'<path d="M{left} {base}H{right}" stroke="{AXIS}"/>']
    if progress.target > 0:
        mark = y(progress.target)
        body.append(f'<path d="M{left} {mark}H{right}" stroke="{AXIS}" stroke-dasharray="5 4"/>'
                    + _text(left, mark - 5, "目标"))
    body.append(f'<polyline points="{" ".join(f"{a},{b}" for a, b in line)}" fill="none" stroke="{GREEN}" '
                f'stroke-width="2.5" stroke-linejoin="round"/>'
                f'<circle cx="{line[-1][0]}" cy="{line[-1][1]}" r="3.5" fill="{GREEN}"/>'
                + _text(left, base + 18, f"{begin:%Y-%m-%d}") + _text(right, base + 18, f"{end:%Y-%m-%d}", end=True))
    reached = progress.reached_on
    caption = (f"筹款进度：累计已筹 {format_fen(last.raised)}"
               + (f"，目标 {format_fen(progress.target)}" if progress.target > 0 else "")
               + (f"，{reached:%Y-%m-%d} 达到目标" if reached else ""))
    label = f"{caption}；首笔捐赠 {first.on:%Y-%m-%d}，最近一笔 {last.on:%Y-%m-%d}（按捐赠日期累计，不含退回的捐赠）。"
    return _figure(caption, base + 24, label, "".join(body), "progress")


def raised_spent_chart(bars, unit: str, most: int | None = None) -> Markup:
    """Raised and spent per 旗县市区 or village: two bars each, on one scale, most raised first; with
    ``most``, only that many are drawn (the page's table lists them all)."""
    bars = sorted(bars, key=lambda b: -b.raised)
    if not bars:
        return Markup("")
    caption = f"各{unit}已筹善款与已支出（元）"
    if most is not None and len(bars) > most:
        caption = f"已筹善款最多的 {most} 个{unit}（共 {len(bars)} 个，全部见下表）已筹善款与已支出（元）"
        bars = bars[:most]
    high = max([max(b.raised, b.spent) for b in bars] + [1])
    full, rows, said = 220, [], []  # the longest bar leaves room for its figure beside it
    for index, bar in enumerate(bars):
        top = index * 54
        rows.append(_text(0, top + 13, bar.name))
        for offset, amount, colour, word in ((18, bar.raised, GREEN, "已筹"), (33, bar.spent, BLUE, "已支出")):
            rows.append(_bar(top + offset, amount, high, full, colour, height=12)
                        + _text(_width(amount, high, full) + 5, top + offset + 10.5, f"{word} {_yuan(amount)}"))
        said.append(f"{bar.name} 已筹 {format_fen(bar.raised)}，已支出 {format_fen(bar.spent)}")
    label = f"{caption}：" + "；".join(said) + "。"
    return _figure(caption, len(bars) * 54 - 8, label, "".join(rows), "bars")


def share_chart(shares, unit: str, whole: Share) -> Markup:
    """Villages with a 互助基金 among those registered, per 旗县市区 or 乡镇/街道, highest share first; the
    caption gives ``whole``, the page's own place."""
    if whole.registered <= 0:
        return Markup("")
    shares = sorted((s for s in shares if s.registered > 0), key=lambda s: -s.with_fund / s.registered)

    def said(s: Share) -> str:
        return f"{s.with_fund} / {s.registered} 个（{percent(s.with_fund, s.registered)}）"

    rows = [_tracks(index * 36 + 18 for index in range(len(shares)))]
    for index, share in enumerate(shares):
        top = index * 36
        rows.append(_text(0, top + 13, share.name) + _text(WIDTH, top + 13, said(share), end=True)
                    + _bar(top + 18, share.with_fund, share.registered, WIDTH, GREEN))
    caption = (f"已设立互助基金的村社：{whole.name}已登记村社 {whole.registered} 个，其中 {whole.with_fund} 个已设立"
               f"（{percent(whole.with_fund, whole.registered)}）")
    label = f"{caption}。各{unit}：" + "；".join(f"{s.name} {said(s)}" for s in shares) + "。"
    return _figure(caption, max(len(shares) * 36 - 6, 1), label, "".join(rows), "share")
