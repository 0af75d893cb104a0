from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("exports/", views.export_list, name="list"),
    path("exports/<uuid:pk>/download/", views.export_download, name="download"),
    path("exports/<uuid:pk>/cancel/", views.export_cancel_view, name="cancel"),
]
