"""gunicorn reads this file from the folder it is started in (``gunicorn -w 4 -b 0.0.0.0:8000 wsgi:app``).

It only sets up the metrics every worker shares (see museum/gunicorn_hooks.py); all other settings come
from the command line. With a config file of your own, put these lines in it.
"""

from museum.gunicorn_hooks import child_exit, on_starting, share_metrics  # noqa: F401  (gunicorn's hooks)

share_metrics()
