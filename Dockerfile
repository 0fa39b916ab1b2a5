# The Earn service image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 earn

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Translations are compiled in the image (gettext only for this step).
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && msgfmt --check-format -o locale/zh_Hant/LC_MESSAGES/django.mo locale/zh_Hant/LC_MESSAGES/django.po \
    && apt-get purge -y gettext && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
# Static files are collected at build time and served by WhiteNoise. The settings need some values
# to load; these are placeholders for this one command, never used at run time.
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    DJANGO_SECRET_KEY=collectstatic-only \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

USER earn
ENV DJANGO_SETTINGS_MODULE=config.settings.production
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"]
