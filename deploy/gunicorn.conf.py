"""gunicorn's settings for WhatsApp Hub: `gunicorn whatsapp_hub.wsgi -c deploy/gunicorn.conf.py --bind HOST:PORT`
(deploy/systemd/whatsapp-hub-gunicorn@.service, the Procfile).

gunicorn serves all HTTP (the API, webhooks, pages, admin); daphne only the websockets. The API's views are
synchronous: under ASGI they ran 6-9x slower here, under gunicorn's sync workers 2 workers on 2 cores answered about
1,900 DRF requests/s with a database query (shared/reference/performance-and-reliability.md).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One sync worker per core unless WEB_CONCURRENCY says otherwise: a worker serves one request at a time, mostly
# CPU (serialising) and short database waits; nginx buffers slow clients' bodies and answers, so none holds one.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = "sync"
# A worker silent this long is killed and replaced; nginx waits 65 s, so its client gets gunicorn's 502.
timeout = 60
# On SIGTERM (stop) or SIGHUP (reload: new workers with the new code, the old ones finish first): the time a
# request in flight has to finish.
graceful_timeout = 30
# Each worker is replaced after about this many requests (spread out): bounds any slow growth of its memory.
max_requests = 10_000
max_requests_jitter = 1_000
# The app is imported in each worker, not in the master: every worker opens its own database pool and Redis
# connections (a pool opened before the fork would be shared by all workers). SIGHUP then loads new code.
preload_app = False
# Scheme headers (X-Forwarded-Proto) are believed from nginx's address only; the hub reads them itself as well
# (TRUST_X_FORWARDED_PROTO). nginx on another machine: FORWARDED_ALLOW_IPS=<its address>.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# nginx logs every request (with its request id); gunicorn logs its own events and errors.
accesslog = None
errorlog = "-"
