"""gunicorn's configuration for the console; `gunicorn` reads it from the current directory.

Every value can be overridden from the environment (GUNICORN_*, WEB_CONCURRENCY) or the
command line. See the README's Production section.
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "billing_console.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threaded workers: a page spends most of its time waiting for PostgreSQL, and a slow
# client downloading a large export holds a thread, not a whole process. Two processes
# per core keep the CPU-bound work (templates, PDFs) on every core.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Connections one process holds at most, idle keep-alive ones included. Left at
# gunicorn's 1,000, one process could take most of a proxy's or a load test's
# persistent connections while the others idled: one process uses one core at most.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(2 * threads)))

# A bill PDF renders in about a second, and is stopped after BILL_PDF_RENDER_SECONDS
# (settings.py); the largest export streams for tens of seconds. A worker silent for
# longer than this is stuck and is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
# Behind a proxy that reuses connections.
keepalive = 5
# WeasyPrint and openpyxl grow a worker's memory; recycle workers now and then. Not too
# often: a Bills page served from the page cache takes ~3 ms, and at 2,000 requests
# each worker was replaced every ~20 s under load, its waiting requests held for the
# ~2 s a new process took to import the console on a busy CPU.
max_requests = 20000
max_requests_jitter = 2000
# Import the console once, in the master, before forking: a replacement worker starts
# in milliseconds, and the processes share the imported code's memory. A deploy restarts
# gunicorn: a HUP would fork the old code again.
preload_app = True
# The heartbeat file on tmpfs, so a busy disk cannot make workers look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# One console per machine may not be the case (benchmarks, staging): no shared control
# socket in the home directory.
control_socket_disable = True

# X-Forwarded-* only from the proxy in front (Django reads X-Forwarded-Proto itself).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access log with the response time in milliseconds, to stdout unless told otherwise.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
