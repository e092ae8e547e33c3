"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py run:app``.

Every value can be set from the environment (systemd's EnvironmentFile, see
hongse.env.example). The app writes its own access lines as JSON with the request id
(ACCESS_LOG, app/logs.py), so gunicorn's access log is off and its error log is JSON too.
"""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8080")
# 2-4 workers per core; each worker also runs a few threads (pages wait on the database)
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # exports of large lists take a while
graceful_timeout = 30
keepalive = 5
# recycle workers now and then (memory kept by large exports is given back)
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# nginx on the same host sets X-Forwarded-For / -Proto; trust only it (see also TRUSTED_PROXIES)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "hongse"

accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "filters": {"request_id": {"()": "app.logs.RequestIdFilter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"],
                            "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": loglevel.upper()},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False}},
}
