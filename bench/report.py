"""The figures of issue 5, their targets, and the table (text, Markdown, JSON) the bench prints."""
from __future__ import annotations

import json
from dataclasses import dataclass

KIB, MIB = 1024, 1024 * 1024


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    target: float | str | None   # None: shown for information, no target
    kind: str = "max"            # "max": value ≤ target; "equal": value == target; "info"

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        if self.kind == "equal":
            return f"= {self.target}"
        return f"≤ {_number(self.target)} {self.unit}".strip()

    def passes(self, value) -> bool | None:
        if value is None:
            return False
        if self.target is None or self.kind == "info":
            return None
        if self.kind == "equal":
            return value == self.target
        return value <= self.target

    def ratio(self, value) -> float | None:
        if self.kind != "max" or value is None or not self.target:
            return None
        return value / self.target


FIGURES = [
    Figure("demo_s", "生成数据集 xfjy demo", "s", 90),
    Figure("publish_full_s", "全量发布 xfjy publish --full", "s", 30),
    Figure("naive_s", "朴素构建（基线，同一批页面）", "s", None, "info"),
    Figure("full_vs_naive", "全量发布 ÷ 朴素构建", "×", 0.4),
    Figure("changed_villages", "变更的村社数（1 %）", "", None, "info"),
    Figure("publish_incremental_s", "1 % 村社变更后 xfjy publish", "s", 5),
    Figure("incremental_identical", "增量发布与全量构建逐字节相同", "", "yes", "equal"),
    Figure("incremental_differing_files", "不同的文件数", "", 0, "equal"),
    Figure("build_after_change_s", "变更后 xfjy build-site（全量，对照）", "s", None, "info"),
    Figure("publish_peak_mb", "发布峰值内存（进程树 RSS 之和，共享页重复计）", "MB", None, "info"),
    Figure("publish_peak_pss_mb", "发布峰值内存（进程树 PSS 之和）", "MB", 1024),
    Figure("naive_peak_mb", "朴素构建峰值内存", "MB", None, "info"),
    Figure("village_page_kb", "最大的村社页面（HTML）", "KB", 40),
    Figure("search_gzip_mb", "搜索索引 gzip 后（手机下载量）", "MB", 1.5),
    Figure("admin_list_median_ms", "捐赠列表按旗县市区筛选，8 并发：中位数", "ms", 100),
    Figure("admin_list_p95_ms", "捐赠列表按旗县市区筛选，8 并发：p95", "ms", 250),
    Figure("admin_list_errors", "捐赠列表：错误数（非 200）", "", 0, "equal"),
    Figure("dashboard_median_ms", "自治区账号工作台：中位数", "ms", 300),
    Figure("report_region_s", "自治区统计报表 xfjy report（XLSX）", "s", 10),
    Figure("annual_region_s", "自治区上一年度报告 xfjy annual-report（XLSX）", "s", 10),
    Figure("import_csv_s", "导入 100,000 行 CSV", "s", 10),
    Figure("import_csv_again_s", "再次导入同一 CSV", "s", 10),
    Figure("import_csv_again_added", "再次导入 CSV 新增记录数", "", 0, "equal"),
    Figure("import_xlsx_s", "导入 100,000 行 XLSX", "s", 30),
    Figure("import_xlsx_again_s", "再次导入同一 XLSX", "s", 30),
    Figure("import_xlsx_again_added", "再次导入 XLSX 新增记录数", "", 0, "equal"),
]
BY_KEY = {f.key: f for f in FIGURES}
BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def value_text(figure: Figure, value, error: str | None = None) -> str:
    if value is None:
        return "error" if error else "—"
    unit = f" {figure.unit}" if figure.unit and figure.kind != "equal" else ""
    return f"{_number(value)}{unit}"


def verdict(figure: Figure, value, error: str | None = None) -> str:
    ok = figure.passes(value)
    if value is None:
        return "FAIL" if error else "—"
    return "" if ok is None else ("pass" if ok else "FAIL")


def rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows: figure, target, then value / ratio / verdict per backend."""
    backends = list(results["backends"])
    header = ["figure", "target"]
    for b in backends:
        name = BACKEND_NAMES.get(b, b)
        header += [f"{name} value", "ratio", "pass/fail"]
    body = []
    for figure in FIGURES:
        row = [figure.label, figure.target_text()]
        for b in backends:
            data = results["backends"][b]
            value, error = data["figures"].get(figure.key), data["errors"].get(figure.key)
            ratio = figure.ratio(value)
            row += [value_text(figure, value, error), "" if ratio is None else f"{ratio:.2f}",
                    verdict(figure, value, error)]
        body.append(row)
    return header, body


def machine_lines(results: dict) -> list[str]:
    m, d = results["machine"], results["dataset"]
    return [
        f"CPU: {m['cpus']} · Python {m['python']} · SQLite {m['sqlite']} · PostgreSQL server {m['postgresql']} · "
        f"MkDocs {m['mkdocs']} · mkdocs-material {m['mkdocs_material']}",
        f"数据集：{d['villages']:,} 个村社，{d['donations']:,} 笔捐赠（seed {d['seed']}）"
        + ("，快速模式（目标按 14,000 村社 / 1,000,000 笔捐赠设定）" if d["villages"] < 14_000 else ""),
        f"开始于 {results['started_at']}，用时 {results['seconds']:.0f} 秒"
        + (f"，代码 {results['git']}" if results.get("git") else ""),
    ]


def text_table(results: dict) -> str:
    header, body = rows(results)
    widths = [max(_width(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = machine_lines(results) + [""]
    for r in [header, ["-" * w for w in widths], *body]:
        lines.append("  ".join(_pad(cell, width) for cell, width in zip(r, widths)).rstrip())
    lines += _notes(results)
    return "\n".join(lines)


def markdown_table(results: dict) -> str:
    header, body = rows(results)
    lines = [f"- {line}" for line in machine_lines(results)] + [""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" if i < 2 else "--:" for i in range(len(header))) + "|")
    for r in body:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    notes = _notes(results)
    if notes:
        lines += [""] + [f"- {n.strip()}" for n in notes if n.strip()]
    return "\n".join(lines) + "\n"


def _notes(results: dict) -> list[str]:
    notes = []
    for b, data in results["backends"].items():
        name = BACKEND_NAMES.get(b, b)
        for key, message in data["errors"].items():
            label = BY_KEY[key].label if key in BY_KEY else key
            notes.append(f"{name} · {label}: {message}")
        for key, message in data.get("notes", {}).items():
            notes.append(f"{name} · {key}: {message}")
    return ([""] + notes) if notes else []


def write_json(path, results: dict) -> None:
    payload = dict(results, figures=[dict(key=f.key, label=f.label, unit=f.unit, target=f.target, kind=f.kind)
                                     for f in FIGURES])
    for data in payload["backends"].values():
        data["pass"] = {f.key: BY_KEY[f.key].passes(data["figures"].get(f.key)) for f in FIGURES}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=2, default=str)


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters are two wide)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
