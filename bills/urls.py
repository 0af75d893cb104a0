from django.urls import path

from . import views

app_name = "bills"

urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("bills/", views.bill_list, name="list"),
    path("bills/<int:pk>/", views.bill_detail, name="detail"),
    path("bills/<int:pk>/pdf/", views.bill_pdf, name="pdf"),
    path(
        "bills/<int:pk>/credit-notes/<int:note_pk>/pdf/",
        views.credit_note_pdf,
        name="credit_note_pdf",
    ),
    path("bills/export.xlsx", views.bill_export_xlsx, name="export_xlsx"),
    path("bills/export.csv", views.bill_export_csv, name="export_csv"),
    path("bills/export.zip", views.bill_export_zip, name="export_zip"),
    path("market/", views.product_market, name="market"),
    path("market/<slug:code>/order/", views.product_order, name="product_order"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel/", views.cancel_order, name="order_cancel"),
    path("members/", views.members, name="members"),
    path("members/add/", views.member_add_view, name="member_add"),
    path("members/<int:pk>/role/", views.member_role_view, name="member_role"),
    path("members/<int:pk>/remove/", views.member_remove_view, name="member_remove"),
    path("activity/", views.activity, name="activity"),
    path("organization/switch/", views.switch_organization, name="switch_organization"),
]
