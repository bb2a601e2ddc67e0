"""Operations: what operators and their tools read about a running hub (README "Health and metrics").

context     the request id: one per HTTP request, carried into the tasks, webhook events and pushes it causes
logs        the request-id log filter and the JSON log formatter (LOG_FORMAT=json)
middleware  the request-id middleware (X-Request-ID in, X-Request-ID out)
config      the settings' checks (a malformed value stops start-up)
celery_signals  Celery's side: the request id across task messages, the worker heartbeat, beat's last run, logging
keys        the hub's operational keys in Redis (heartbeats, beat, queue lengths, campaign send rates)
health      the liveness and readiness reports (django-health-check's checks, run and cached here)
metrics     the Prometheus figures: counters kept by the processes, gauges read from the database and Redis
views       GET /api/v1/health, GET /api/v1/health/ready, GET /metrics

The settings import `config` (and, through LOGGING, `logs` and `context`): light modules, no models.
"""
