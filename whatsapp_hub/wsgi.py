"""WSGI entry point: gunicorn serves all HTTP in production (API, webhooks, pages, admin)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsapp_hub.settings")

application = get_wsgi_application()
