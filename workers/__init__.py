"""Celery workers: thin task shells around domain use cases."""
