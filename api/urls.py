"""`/api/v1/`: each endpoint's role is in bills/roles.py, like every page's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView

from . import views

app_name = "api"


def endpoint(view_class, **kwargs):
    """A DRF view: it authenticates keys and sessions itself, and its permission class
    asks bills/roles.py (RoleMiddleware leaves it to it, LoginRequiredMiddleware too)."""
    view = login_not_required(view_class.as_view(**kwargs))
    view.checks_its_own_role = True
    return view


urlpatterns = [
    path("api/v1/bills/", endpoint(views.BillList), name="bills"),
    path("api/v1/bills/<int:pk>/", endpoint(views.BillDetail), name="bill"),
    path("api/v1/bills/<int:pk>/pdf/", endpoint(views.BillPdf), name="bill_pdf"),
    path("api/v1/products/", endpoint(views.ProductList), name="products"),
    path("api/v1/orders/", endpoint(views.OrderList), name="orders"),
    path("api/v1/orders/<int:pk>/", endpoint(views.OrderDetail), name="order"),
    path("api/v1/exports/", endpoint(views.ExportList), name="exports"),
    path("api/v1/exports/<uuid:pk>/", endpoint(views.ExportDetail), name="export"),
    path("api/v1/exports/<uuid:pk>/file/", endpoint(views.ExportFile), name="export_file"),
    path("api/v1/openapi.json", endpoint(SpectacularJSONAPIView), name="schema"),
    path("api/v1/docs/", views.docs, name="docs"),
    path("api-keys/", views.keys, name="keys"),
    path("api-keys/create/", views.key_create, name="key_create"),
    path("api-keys/<int:pk>/revoke/", views.key_revoke, name="key_revoke"),
]
