from django.urls import path

from . import submission_views, views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("editions/<slug:edition>/", views.home, name="home_edition"),
    path("browse/", views.browse, name="browse"),
    path("search/", views.site_search, name="search"),
    path("new/", views.new, name="new"),
    path("topics/<slug:slug>/new/", views.new, name="topic_new"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("topics/<slug:slug>/<slug:edition>/", views.topic, name="topic_edition"),
    path("entries/<int:pk>/", views.entry, name="entry"),
    path("labels/", views.labels, name="labels"),
    path("labels/<slug:slug>/", views.label, name="label"),
]

# Reader submissions: the form and each submitter's private status page.
urlpatterns += [
    path("submit/", submission_views.submit, name="submit"),
    path("submit/status/<str:token>/", submission_views.submission_status, name="submission_status"),
]
