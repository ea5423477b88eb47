"""The WSGI entry point: ``gunicorn -w 1 --threads 50 wsgi:app`` (Socket.IO in threading mode)."""

from api import create_app

app = create_app()
