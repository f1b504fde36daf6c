"""Canvas' Progress routes (full paths; mounted at the site root).

Ids are matched loosely (`[^/]+`) and validated in the views, so a junk id gets Canvas' 404
body, never Django's HTML page; the last two routes do the same for any other URL under
Canvas' prefixes. A trailing slash is accepted, as Rails does.
"""

from django.urls import re_path

from progress import views

app_name = "progress"

urlpatterns = [
    re_path(r"^api/v1/progress/?$", views.ProgressCollectionView.as_view(), name="list"),
    re_path(
        r"^api/v1/progress/(?P<pk>[^/]+)/?$", views.ProgressResourceView.as_view(), name="show"
    ),
    re_path(
        r"^api/v1/progress/(?P<pk>[^/]+)/cancel/?$",
        views.ProgressCancelView.as_view(),
        name="cancel",
    ),
    re_path(
        r"^api/lti/courses/(?P<course_id>[^/]+)/progress/(?P<pk>[^/]+)/?$",
        views.LtiProgressView.as_view(),
        name="lti-show",
    ),
    re_path(r"^api/v1/progress/", views.UnknownRouteView.as_view()),
    re_path(r"^api/lti/", views.UnknownLtiRouteView.as_view()),
]
