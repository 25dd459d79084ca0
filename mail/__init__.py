"""Mail-generic machinery under the outbox: providers, suppression of bounced addresses,
the providers' webhooks, pacing shared by every worker, DKIM and Message-IDs, and what
operators see of it. The outbox (petition/outbox.py) calls into this package; this
package never imports the layers above it, they register what it needs (registry.py)."""
