"""Charts: plotly figures built in Python (plotly.graph_objects), shipped to the page as JSON.

The page holds each figure in ``<script type="application/json" class="chart-data">``;
static/monitor/charts.js draws them with the plotly.js served from our own static files. No inline
JavaScript, so a strict Content-Security-Policy works. Every chart carries its data as a ``Table``
(shown in a <details> beside the chart, exported as CSV, returned by the API).
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import plotly.graph_objects as go
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from monitor.dashboards.exports import Column, Table

COLORS = {
    "pass": "#1f7a3a", "fail": "#b3261e", "dkim": "#2358c4", "spf": "#a86400", "dmarc": "#1f7a3a",
    "none": "#8a94a6", "quarantine": "#d08a00", "reject": "#b3261e", "success": "#1f7a3a",
    "neutral": "#5b6475", "successful": "#1f7a3a", "failed": "#b3261e", "forwarded": "#2358c4",
    "mailing list": "#6b3fa0", "ok": "#1f7a3a", "warning": "#a86400", "could not check": "#6b3fa0",
}
PALETTE = ["#2358c4", "#1f7a3a", "#a86400", "#b3261e", "#6b3fa0", "#0e7c86", "#8a94a6", "#c2185b",
           "#5d4037", "#33691e"]
HEIGHT = 300
LAYOUT = dict(
    height=HEIGHT,
    margin=dict(l=50, r=20, t=10, b=40),
    legend=dict(orientation="h", y=-0.18),
    font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=12, color="#1d2330"),
    paper_bgcolor="#ffffff",
    plot_bgcolor="#ffffff",
    hovermode="x unified",
)
# Escapes that keep a JSON text inert inside <script> (the same ones Django's json_script uses).
SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@dataclass
class Chart:
    id: str  # the id of the element the chart is drawn into (unique on the page)
    title: str
    figure: go.Figure
    table: Table
    description: str = ""  # a sentence for screen readers and the <figcaption>

    def json(self) -> str:
        """The figure as JSON that is safe inside a <script> element."""
        return mark_safe(self.figure.to_json().translate(SCRIPT_ESCAPES))

    def as_dict(self) -> dict:
        return json.loads(self.figure.to_json())


def _figure(traces, **layout) -> go.Figure:
    merged = {**LAYOUT, **layout}
    return go.Figure(data=traces, layout=merged)


def _color(name: str, index: int) -> str:
    """Meaningful colours where the name says what a series is (pass green, fail red...), else the palette."""
    key = name.lower()
    if key in COLORS:
        return COLORS[key]
    words = key.split()
    if words and words[-1] in ("fail", "failed", "listed"):
        return COLORS["fail"]
    if words and words[-1] in ("pass", "successful") and len(words) <= 2:
        return COLORS["pass"]
    return PALETTE[index % len(PALETTE)]


def _line_color(name: str, index: int) -> str:
    first = name.split()[0].lower() if name.split() else ""
    return COLORS[first] if first in ("dmarc", "dkim", "spf") else PALETTE[index % len(PALETTE)]


def _days_axis(days: list[date]) -> list[str]:
    return [day.isoformat() for day in days]


def stacked_daily(chart_id, title, days, series: dict, *, unit="messages", description="") -> Chart:
    """Daily bars stacked by series (e.g. volume by DMARC result)."""
    x = _days_axis(days)
    traces = [
        go.Bar(x=x, y=values, name=name, marker_color=_color(name, n), hovertemplate=f"%{{y:,}} {unit}<extra>{name}</extra>")
        for n, (name, values) in enumerate(series.items())
    ]
    figure = _figure(traces, barmode="stack", yaxis=dict(title=unit, rangemode="tozero"), xaxis=dict(type="date"))
    table = Table(
        name=chart_id, title=title,
        columns=[Column("day", "Day", "date")] + [Column(_key(name), name, "int") for name in series],
        rows=[{"day": day, **{_key(name): values[i] for name, values in series.items()}} for i, day in enumerate(days)],
    )
    return Chart(chart_id, title, figure, table, description)


def rate_lines(chart_id, title, days, series: dict, *, description="") -> Chart:
    """Daily percentages as lines (None where a day had no messages: a gap, not a zero)."""
    x = _days_axis(days)
    traces = [
        go.Scatter(x=x, y=values, name=name, mode="lines+markers", connectgaps=False, marker=dict(size=4),
                   line=dict(color=_line_color(name, n), width=2), hovertemplate="%{y:.1f}%<extra>" + name + "</extra>")
        for n, (name, values) in enumerate(series.items())
    ]
    figure = _figure(traces, yaxis=dict(title="%", range=[0, 101]), xaxis=dict(type="date"))
    table = Table(
        name=chart_id, title=title,
        columns=[Column("day", "Day", "date")] + [Column(_key(name), name, "pct") for name in series],
        rows=[{"day": day, **{_key(name): values[i] for name, values in series.items()}} for i, day in enumerate(days)],
    )
    return Chart(chart_id, title, figure, table, description)


def category_bars(chart_id, title, labels: list[str], series: dict, *, label_title="", unit="", description="") -> Chart:
    """Horizontal bars per category (failures by result type, by reporter, by MX...)."""
    labels = [str(label) for label in labels]
    traces = [
        go.Bar(y=labels, x=values, name=name, orientation="h", marker_color=_color(name, n),
               hovertemplate=f"%{{x:,}} {unit}<extra>{name}</extra>")
        for n, (name, values) in enumerate(series.items())
    ]
    height = max(180, 90 + 26 * len(labels))
    figure = _figure(traces, barmode="stack", height=height, hovermode="closest", margin=dict(l=50, r=20, t=30, b=40),
                     legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                     yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(title=unit, rangemode="tozero"))
    table = Table(
        name=chart_id, title=title,
        columns=[Column("label", label_title or "Category")] + [Column(_key(name), name, "int") for name in series],
        rows=[{"label": label, **{_key(name): values[i] for name, values in series.items()}} for i, label in enumerate(labels)],
    )
    return Chart(chart_id, title, figure, table, description)


def timeline(chart_id, title, intervals: list[dict], start: date, end: date, *, description="") -> Chart:
    """Bars from ``first`` to ``last`` per ``lane`` (e.g. "192.0.2.1 on zen.spamhaus.org").

    ``intervals``: dicts with lane, first (datetime), last (datetime or None: still open), label.
    """
    window_end = datetime.combine(end + timedelta(days=1), datetime.min.time())
    lanes, base, length, text = [], [], [], []
    for item in intervals:
        first = item["first"]
        last = item["last"] or window_end
        first_naive = first.replace(tzinfo=None) if isinstance(first, datetime) else datetime.combine(first, datetime.min.time())
        last_naive = last.replace(tzinfo=None) if isinstance(last, datetime) else datetime.combine(last, datetime.min.time())
        lanes.append(item["lane"])
        base.append(first_naive.isoformat())
        length.append(max((last_naive - first_naive).total_seconds() * 1000, 3600_000))
        text.append(item.get("label", ""))
    traces = [go.Bar(y=lanes, x=length, base=base, orientation="h", marker_color=COLORS["fail"], text=text,
                     textposition="none", hovertemplate="%{y}<br>%{base|%Y-%m-%d %H:%M} → %{text}<extra></extra>")]
    height = max(160, 60 + 26 * len(set(lanes)))
    figure = _figure(traces, height=height, hovermode="closest", showlegend=False,
                     xaxis=dict(type="date", range=[start.isoformat(), window_end.isoformat()]),
                     yaxis=dict(autorange="reversed", automargin=True, type="category"))
    table = Table(
        name=chart_id, title=title,
        columns=[Column("lane", "Address on list"), Column("first", "Listed from", "datetime"),
                 Column("last", "Listed until", "datetime"), Column("label", "Code / reason")],
        rows=[{"lane": i["lane"], "first": i["first"], "last": i["last"], "label": i.get("label", "")} for i in intervals],
        empty="No listings in this period.",
    )
    return Chart(chart_id, title, figure, table, description)


def _key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def sparkline(values: list, *, width=90, height=24, label="") -> str:
    """A small inline SVG trend line (server-side: dozens per page cost no JavaScript).

    ``values`` may hold None for days without data; the line breaks there.
    """
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return format_html('<span class="muted" title="{}">–</span>', label or "not enough data")
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = high - low
    step = (width - 4) / max(len(values) - 1, 1)

    def xy(i, v):
        share = (v - low) / span if span else 0.5  # a steady value: a line through the middle
        return f"{2 + i * step:.1f},{height - 3 - share * (height - 6):.1f}"

    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(xy(i, v))
    if current:
        segments.append(current)
    lines = format_html_join("", '<polyline points="{}"/>', ((" ".join(s),) for s in segments if len(s) > 1))
    dots = format_html_join("", '<circle cx="{}" cy="{}" r="1.4"/>', (tuple(s[0].split(",")) for s in segments if len(s) == 1))
    return format_html(
        '<svg class="spark" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><title>{label}</title>{lines}{dots}</svg>',
        w=width, h=height, label=label, lines=lines, dots=dots,
    )
