"""gunicorn entry point: ``gunicorn -w 4 -b 127.0.0.1:8000 wsgi:app``."""

import gc

from museum.app import create_app

app = create_app()
# The app's own objects (about 200,000: modules, models, routes, schemas) live as long as the process, so
# they are moved out of the cyclic collector's sight: a full collection then walks only what requests made
# since, instead of all of them (about 150 ms of a worker each time, which the busiest requests then wait
# for, and which requests that allocate much, such as the dashboard's answers, bring on more often).
gc.freeze()
