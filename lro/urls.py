"""Routes of the Google LRO family; anything else under /v1/ is a NOT_FOUND in its envelope.

The segments are permissive (even empty): the views check names, so junk gets an
INVALID_ARGUMENT, never a 500. An id followed by an unknown `:verb` is junk too.
"""

from django.urls import re_path

from lro import views

OPERATIONS = r"^v1/projects/(?P<project>[^/]*)/operations"

urlpatterns = [
    re_path(rf"{OPERATIONS}\Z", views.OperationCollectionView.as_view(), name="lro-operation-list"),
    re_path(
        rf"{OPERATIONS}/(?P<operation>[^/:]*):cancel\Z",
        views.OperationCancelView.as_view(),
        name="lro-operation-cancel",
    ),
    re_path(
        rf"{OPERATIONS}/(?P<operation>[^/:]*):wait\Z",
        views.OperationWaitView.as_view(),
        name="lro-operation-wait",
    ),
    re_path(
        rf"{OPERATIONS}/(?P<operation>[^/]*)\Z",
        views.OperationResourceView.as_view(),
        name="lro-operation-detail",
    ),
    re_path(r"^v1(?:/[\s\S]*)?\Z", views.UnknownURLView.as_view(), name="lro-unknown-url"),
]
