# One image for the web, worker, worker-bulk and beat processes of docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# DejaVu Sans draws signatories' names in any script in the delivery PDF and share image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
# The pinned dependencies first (scripts/lock), so this layer is rebuilt only when they change.
COPY requirements/main.txt ./requirements/
RUN pip install --no-cache-dir -r requirements/main.txt
COPY . .
RUN pip install --no-cache-dir --no-deps . \
 && python scripts/compile_messages.py --force \
 && DJANGO_SECRET_KEY=collectstatic-only EMAIL_URL=consolemail:// python manage.py collectstatic --noinput --verbosity 0 \
 && useradd --system --uid 1000 undersigned \
 && mkdir -p /app/media && chown undersigned /app/media
USER undersigned
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
