from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "meshportal curation"
admin.site.site_title = "meshportal admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("catalog.urls")),
]
