"""Template tags for the jobdesk admin."""

from django import template

from jobs import dashboard

register = template.Library()


@register.inclusion_tag("admin/jobdesk/dashboard.html", takes_context=True)
def jobdesk_dashboard(context) -> dict:
    """Render the job dashboard for the request's user."""
    request = context["request"]
    return {"panels": dashboard.build(request), "stuck_minutes": dashboard.stuck_minutes()}
