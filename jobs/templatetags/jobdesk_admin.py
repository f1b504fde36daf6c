"""Template tags for the jobdesk admin."""

import json

from django import template

from jobs import dashboard

register = template.Library()


@register.inclusion_tag("admin/jobdesk/dashboard.html", takes_context=True)
def jobdesk_dashboard(context) -> dict:
    """Render the job dashboard for the request's user."""
    request = context["request"]
    return {"panels": dashboard.build(request), "stuck_minutes": dashboard.stuck_minutes()}


@register.filter
def jobdesk_json(value) -> str:
    """Render `value` as JSON (autoescaped like any text where it is shown)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
