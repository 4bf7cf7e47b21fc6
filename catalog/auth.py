"""The authentication backend that counts failed admin sign-ins (django-axes)."""

from axes.backends import AxesStandaloneBackend


class AxesBackend(AxesStandaloneBackend):
    """django-axes' lockout check for sign-ins that come with a request.

    A sign-in without one (a management command, a test client's `login()`)
    has no client address to count or lock, so it goes on to the next
    backend; every web sign-in (the admin's form) passes its request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
