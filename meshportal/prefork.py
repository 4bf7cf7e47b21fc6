"""gunicorn settings that let its workers share memory, read by deploy/gunicorn.conf.py
(and `gunicorn -c python:meshportal.prefork`, as bench/live.py runs it).

The parent process imports the app once (`preload_app`) and, before it forks each
worker, builds the facet index or catches it up from the change log
(`catalog.facet_index.prepare_fork`): the workers start with Django, the code and the
index already in memory, shared copy-on-write, and no request waits for a first build.
GUNICORN_PRELOAD=0 turns it off (each worker then imports the app and builds the index
on its first request). With it on, a new release needs a restart: a HUP starts new
workers from the parent's code.
"""

import os

preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def pre_fork(server, worker):
    if server.cfg.preload_app:
        from catalog.facet_index import prepare_fork

        prepare_fork()
