"""Template tags for the jobdesk admin: the dashboard, its chart, JSON for a page."""

import json

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs import dashboard

register = template.Library()

# The chart's geometry; jobs/static/jobs/admin.js draws the same when it refreshes.
BAR_STEP, BAR_WIDTH, BARS_HEIGHT, AXIS_HEIGHT = 20, 14, 100, 16
SERIES = ("succeeded", "failed", "cancelled")


@register.inclusion_tag("admin/jobdesk/dashboard.html", takes_context=True)
def jobdesk_dashboard(context) -> dict:
    """Render the job dashboard for the request's user."""
    return dashboard.context(context["request"])


@register.simple_tag
def jobdesk_chart(name: str, hours: list) -> SafeString:
    """Render jobs ended per hour as stacked bars (succeeded, failed, cancelled) in SVG."""
    width = BAR_STEP * len(hours)
    tallest = max([hour.total for hour in hours] + [1])
    bars = format_html_join(
        "", "{}", ((hour_bars(i, hour, tallest),) for i, hour in enumerate(hours))
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="jd-axis">{}</text>',
        (
            (i * BAR_STEP + BAR_STEP // 2, BARS_HEIGHT + AXIS_HEIGHT - 3, f"{hour.start:%H}:00")
            for i, hour in enumerate(hours)
            if i % 6 == 0
        ),
    )
    return format_html(
        '<svg class="jd-chart" data-jd-chart="{}" viewBox="0 0 {} {}" '
        'preserveAspectRatio="xMinYMid meet" role="img" '
        'aria-label="Jobs ended per hour, last 24 hours, UTC">{}<line x1="0" y1="{}" x2="{}" '
        'y2="{}" class="jd-baseline"></line>{}</svg>',
        name,
        width,
        BARS_HEIGHT + AXIS_HEIGHT,
        bars,
        BARS_HEIGHT,
        width,
        BARS_HEIGHT,
        labels,
    )


def hour_bars(index: int, hour, tallest: int) -> SafeString:
    """Return one hour's stacked bar, its counts in its title."""
    rects, top = [], BARS_HEIGHT
    for series in SERIES:
        height = BARS_HEIGHT * getattr(hour, series) / tallest
        top -= height
        x = index * BAR_STEP + (BAR_STEP - BAR_WIDTH) / 2
        rects.append((series, f"{x:g}", f"{top:.2f}", BAR_WIDTH, f"{height:.2f}"))
    return format_html(
        '<g class="jd-hour"><title>{}</title>{}</g>',
        hour.label,
        format_html_join(
            "",
            '<rect class="jd-bar-{}" x="{}" y="{}" width="{}" height="{}"></rect>',
            rects,
        ),
    )


@register.filter
def jobdesk_json(value) -> str:
    """Render `value` as JSON (autoescaped like any text where it is shown)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
