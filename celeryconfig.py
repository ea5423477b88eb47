"""Celery settings for money-moving tasks (the reasons: docs/operations.md and the comments below).

The broker URL is not here: it comes from Settings (REDIS_URL) in workers/celery_app.py.
"""

from kombu import Queue

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_ignore_result = True  # MongoDB holds the state; Celery results are no ledger

task_acks_late = True  # a task killed mid-way is delivered again...
task_reject_on_worker_lost = True  # ...even when its process died by a signal
worker_prefetch_multiplier = 1
worker_cancel_long_running_tasks_on_connection_loss = True
worker_soft_shutdown_timeout = 10
worker_enable_soft_shutdown_on_idle = True
broker_connection_retry_on_startup = True

# Every run and every retry countdown stays far below the visibility timeout, so a
# message is never handed to a second worker while the first still works on it.
visibility_timeout = 3600
# adapters/celery_factory.py adds the socket timeouts (REDIS_TIMEOUT_S): no publish waits for ever.
broker_transport_options = {"visibility_timeout": visibility_timeout}
# Enforced by prefork only: the threads pools ignore them, and every Daraja, MongoDB and
# Redis call's own timeout bounds a task instead.
task_soft_time_limit = 90
task_time_limit = 120

task_default_queue = "default"
task_queues = (Queue("payments"), Queue("callbacks"), Queue("recon"), Queue("default"))
# Three pools (Procfile), each of threads: ``payments`` sends every request to Daraja (push,
# B2C, scheduled STK Queries, Transaction Status), many in flight; ``callbacks`` never waits
# behind a slow push (it calls Daraja too: one STK Query verifies each STK callback); ``recon``
# runs the sweeps, which only read MongoDB and enqueue. Sizing: docs/operations.md.
task_routes = {
    "payments.reconcile": {"queue": "recon"},
    "payments.*": {"queue": "payments"},
    "payouts.reconcile": {"queue": "recon"},
    "payouts.*": {"queue": "payments"},
    "callbacks.requeue_stale": {"queue": "recon"},
    "callbacks.*": {"queue": "callbacks"},
    "deals.*": {"queue": "recon"},
    "ledger.*": {"queue": "recon"},
}
# One beat runs these; each is safe to run twice at once (compare-and-set, unique keys).
beat_schedule = {
    "reconcile-payments": {"task": "payments.reconcile", "schedule": 15.0},
    "requeue-stale-callbacks": {"task": "callbacks.requeue_stale", "schedule": 60.0},
    "auto-release-inspected-deals": {"task": "deals.auto_release", "schedule": 60.0},
    "expire-unfunded-deals": {"task": "deals.expire_unfunded", "schedule": 300.0},
    "reconcile-payouts": {"task": "payouts.reconcile", "schedule": 30.0},
    "repair-settlements": {"task": "ledger.repair_settlements", "schedule": 300.0},
}
timezone = "Africa/Nairobi"
enable_utc = True
worker_hijack_root_logger = False
worker_send_task_events = True  # Flower's task view and metrics
# No "sent" event: it would cost every enqueue (the API's hot path) a second round trip to
# Redis. Flower shows a task from the moment a worker receives it.
task_send_sent_event = False
