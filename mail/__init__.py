"""The mail layer: the outbox every email goes through (outbox.py, its tasks and its table),
providers, suppression of bounced addresses, the providers' webhooks, pacing shared by every
worker, DKIM and Message-IDs, and what operators see of it. It never imports the layers
above it; the petition app registers how a signature's email is rendered (registry.py)."""
