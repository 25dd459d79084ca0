"""Undersigned settings, configured from the environment only (12-factor).

With nothing set, the project runs the embedded default: SQLite, tasks run inline,
emails printed to the console. Setting DATABASE_URL, REDIS_URL and EMAIL_URL moves it
onto PostgreSQL, Redis + Celery and real SMTP without touching code.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.ratelimit import Rate

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production (DJANGO_DEBUG off) refuses to start "
            "without a secret: set DJANGO_SECRET_KEY to a long random string, or set "
            "DJANGO_DEBUG=1 for local development (`make run` does that for you)."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105

PORT = env.int("PORT", default=8000)
# The origin used to build absolute links in emails, embeds and meta tags.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Undersigned")
_site_host = urlsplit(SITE_URL).hostname or "127.0.0.1"

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=sorted({_site_host, "127.0.0.1", "localhost", "[::1]"})
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_countries",
    "ninja",
    "accounts",
    "letters",
    "petition",
    "delivery",
    "trustlog",
    "pages",
    "anymail",
    "mail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.cors.PublicCorsMiddleware",
    "config.framing.FramingPolicyMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFAMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the embedded default take concurrent writes
    # without "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Scale-out (docs/scale-out.md): a streaming read replica for public pages, chosen per
# request by config/routers.py, and PgBouncer in front of either database.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_STICKY_SECONDS = env.int("DATABASE_REPLICA_STICKY_SECONDS", default=10)
DATABASE_POOLER = env.str("DATABASE_POOLER", default="").strip().lower()
if DATABASE_POOLER not in ("", "session", "transaction"):
    raise ImproperlyConfigured(
        f"DATABASE_POOLER must be session or transaction (or empty), not {DATABASE_POOLER!r}."
    )
if DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL.")
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
    MIDDLEWARE.append("config.routers.PublicReadsMiddleware")
if (
    DATABASE_POOLER == "transaction"
    and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
):
    # Each transaction may run on a different server connection: no named cursors held
    # across statements, no statements prepared on one connection and run on another.
    for _database in DATABASES.values():
        _database["DISABLE_SERVER_SIDE_CURSORS"] = True
        _database.setdefault("OPTIONS", {})["prepare_threshold"] = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "undersigned",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
# Without a broker the embedded default runs every task inline, after the commit that
# queued it, so a laptop needs no Redis and no worker.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Each worker process holds one task at a time: on "signing" an email never waits reserved
# behind a busy sibling process, and on "bulk" a long PDF never holds a second job hostage.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long a delivery PDF may take before it is marked failed (seconds).
DELIVERY_PDF_TIME_LIMIT = env.int("DELIVERY_PDF_TIME_LIMIT", default=900)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged task to another worker after this long: it must
    # outlast the longest task (plus its wait in the queue), or a PDF would run twice.
    "visibility_timeout": max(3600, 3 * (DELIVERY_PDF_TIME_LIMIT + 60)),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# A web request must not hang on a broker outage: the outbox sweeper re-queues later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = "UTC"
# Three queues, so slow work cannot hold up a signer: "signing" (the emails a person is
# waiting for, the outbox sweeper, the tally), "mail" (mail sent to many at once:
# reconfirmation requests, team invitations) and "bulk" (delivery PDFs, bulk moderation,
# scans and retention). Run one worker for "signing" and another for "mail,bulk" (see
# README); a worker started without --queues takes all three. Every task is routed here
# by name; an unknown one falls to "bulk", never in front of signers.
CELERY_TASK_QUEUES: dict[str, dict[str, str]] = {"signing": {}, "mail": {}, "bulk": {}}
CELERY_TASK_DEFAULT_QUEUE = "bulk"
CELERY_TASK_ROUTES = {
    "mail.tasks.drain_outbox": {"queue": "signing"},
    "mail.tasks.send_outbound_email": {"queue": "signing"},
    "mail.tasks.outbox_requeue_stale": {"queue": "signing"},
    "petition.tasks.tally_counts": {"queue": "signing"},
    "mail.tasks.drain_outbox_bulk": {"queue": "mail"},
    "mail.tasks.send_outbound_email_bulk": {"queue": "mail"},
    "petition.tasks.tally_reconcile": {"queue": "bulk"},
    "petition.tasks.anomalies_flag": {"queue": "bulk"},
    "petition.tasks.ip_addresses_erase": {"queue": "bulk"},
    "petition.tasks.retention_apply": {"queue": "bulk"},
    "petition.tasks.invalidation_run": {"queue": "bulk"},
    "petition.tasks.audit_undo_run": {"queue": "bulk"},
    "petition.tasks.reconfirm_request_run": {"queue": "bulk"},
    "delivery.tasks.build_delivery_document": {"queue": "bulk"},
    "trustlog.tasks.log_checkpoint": {"queue": "signing"},
    "trustlog.tasks.log_salts_erase": {"queue": "bulk"},
}
# Each task sets its own soft and hard time limits; these only catch one that forgot.
# The soft limit raises inside the task so it can record where it stopped; the hard one
# kills the process a minute later if it did not.
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# How often the tally job folds newly verified signatures into the counts, and how often
# the reconcile task checks the counts against the signatures (seconds).
TALLY_INTERVAL_SECONDS = env.float("TALLY_INTERVAL_SECONDS", default=2.0)
TALLY_RECONCILE_SECONDS = env.float("TALLY_RECONCILE_SECONDS", default=600.0)
# How often the trust log signs a checkpoint of each letter's log that grew (seconds).
LOG_CHECKPOINT_SECONDS = env.float("LOG_CHECKPOINT_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "outbox-requeue-stale": {
        "task": "mail.tasks.outbox_requeue_stale",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=30.0),
        "options": {"expires": 60},
    },
    "tally-counts": {
        "task": "petition.tasks.tally_counts",
        "schedule": TALLY_INTERVAL_SECONDS,
        "options": {"expires": 10},
    },
    "tally-reconcile": {
        "task": "petition.tasks.tally_reconcile",
        "schedule": TALLY_RECONCILE_SECONDS,
    },
    "anomalies-flag": {
        "task": "petition.tasks.anomalies_flag",
        "schedule": env.float("ANOMALY_SCAN_SECONDS", default=300.0),
        "options": {"expires": 120},
    },
    "ip-addresses-erase": {
        "task": "petition.tasks.ip_addresses_erase",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
    "retention-apply": {
        "task": "petition.tasks.retention_apply",
        "schedule": env.float("RETENTION_SECONDS", default=3600.0),
        "options": {"expires": 600},
    },
    "log-checkpoint": {
        "task": "trustlog.tasks.log_checkpoint",
        "schedule": LOG_CHECKPOINT_SECONDS,
        "options": {"expires": 10},
    },
    "log-salts-erase": {
        "task": "trustlog.tasks.log_salts_erase",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
}

# --- Email (mail/, docs/email.md) ----------------------------------------------------
# Where mail leaves: EMAIL_URL for SMTP (or the console in development), or EMAIL_PROVIDER
# for a provider's HTTP API through django-anymail, with that provider's variables below.
EMAIL_PROVIDERS = {
    "ses": "anymail.backends.amazon_ses.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "brevo": "anymail.backends.brevo.EmailBackend",
}
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="").strip().lower()
if EMAIL_PROVIDER not in ("", "smtp", *EMAIL_PROVIDERS):
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER must be one of smtp, {', '.join(EMAIL_PROVIDERS)}, not {EMAIL_PROVIDER!r}."
    )
# Production must say where mail goes: without it no signature could ever be confirmed,
# and a forgotten EMAIL_URL must not quietly print verification links to a log.
if not DEBUG and not env.str("EMAIL_URL", default="") and EMAIL_PROVIDER in ("", "smtp"):
    raise ImproperlyConfigured(
        "EMAIL_URL is not set. Production (DJANGO_DEBUG off) refuses to start without a way "
        "to send mail: set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587, "
        "or EMAIL_PROVIDER (ses, postmark, mailgun, sendgrid, brevo; see docs/email.md), "
        "or DJANGO_DEBUG=1 for local development."
    )
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
if EMAIL_PROVIDER in EMAIL_PROVIDERS:
    EMAIL_BACKEND = EMAIL_PROVIDERS[EMAIL_PROVIDER]
elif vars()["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
    # The same SMTP backend, signing with DKIM when a key is configured.
    EMAIL_BACKEND = "mail.backends.SmtpBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@{_site_host}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Message-IDs end in this domain (the site's host unless set).
EMAIL_MESSAGE_ID_DOMAIN = env.str("EMAIL_MESSAGE_ID_DOMAIN", default=_site_host)
ANYMAIL = {
    # "user:password" the providers' webhooks must present (HTTP basic auth).
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="") or None,
    "POSTMARK_SERVER_TOKEN": env.str("ANYMAIL_POSTMARK_SERVER_TOKEN", default=""),
    "MAILGUN_API_KEY": env.str("ANYMAIL_MAILGUN_API_KEY", default=""),
    "MAILGUN_API_URL": env.str("ANYMAIL_MAILGUN_API_URL", default="https://api.mailgun.net/v3"),
    "MAILGUN_SENDER_DOMAIN": env.str("ANYMAIL_MAILGUN_SENDER_DOMAIN", default="") or None,
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    "SENDGRID_API_KEY": env.str("ANYMAIL_SENDGRID_API_KEY", default=""),
    "BREVO_API_KEY": env.str("ANYMAIL_BREVO_API_KEY", default=""),
    # Amazon SES takes boto3's own AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or a role).
    "AMAZON_SES_CLIENT_PARAMS": {"region_name": env.str("AWS_REGION", default="us-east-1")},
    "AMAZON_SES_CONFIGURATION_SET_NAME": env.str("ANYMAIL_SES_CONFIGURATION_SET", default="")
    or None,
}
ANYMAIL = {key: value for key, value in ANYMAIL.items() if value not in ("", None)}
# DKIM for direct SMTP (providers sign themselves): the PEM private key (or a path to
# it), the selector published in DNS as <selector>._domainkey.<domain>, and the domain.
DKIM_PRIVATE_KEY = env.str("DKIM_PRIVATE_KEY", default="")
DKIM_SELECTOR = env.str("DKIM_SELECTOR", default="undersigned")
DKIM_DOMAIN = env.str("DKIM_DOMAIN", default=_site_host)
# Pacing shared by every worker (a token bucket in Redis): at most this many emails a
# second (0: no limit), and optional caps per minute and per UTC day (0: none). Mail
# signers wait for always finds a token; bulk mail takes one only when there is headroom.
EMAIL_MAX_PER_SECOND = env.float("EMAIL_MAX_PER_SECOND", default=0.0)
EMAIL_MAX_PER_MINUTE = env.int("EMAIL_MAX_PER_MINUTE", default=0)
EMAIL_MAX_PER_DAY = env.int("EMAIL_MAX_PER_DAY", default=0)
# The "check your inbox" page says mail is slow once the oldest verification email has
# waited this long (seconds).
EMAIL_BEHIND_SECONDS = env.int("EMAIL_BEHIND_SECONDS", default=180)

# --- Accounts (django-allauth) --------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlsplit(SITE_URL).scheme or "http"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGIN_URL = "account_login"
# allauth's emails (address confirmation, password reset, MFA notices) go through the
# outbox like every other email: queued in the database, sent by a worker.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm", "signup": "accounts.forms.SignupForm"}
# A password-reset request for an unknown address sends nothing (and says the same).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Who may create an account: `closed` (invitations to a letter's team and admins only),
# `domains` (addresses at SIGNUP_DOMAINS, or their subdomains), or `open` (anyone).
SIGNUP_MODE = env.str("SIGNUP_MODE", default="closed").strip().lower()
if SIGNUP_MODE not in ("closed", "domains", "open"):
    raise ImproperlyConfigured(f"SIGNUP_MODE must be closed, domains or open, not {SIGNUP_MODE!r}.")
SIGNUP_DOMAINS = [
    d.strip().lower().lstrip("@").rstrip(".")
    for d in env.list("SIGNUP_DOMAINS", default=[])
    if d.strip()
]
if SIGNUP_MODE == "domains" and not SIGNUP_DOMAINS:
    raise ImproperlyConfigured("SIGNUP_MODE=domains needs SIGNUP_DOMAINS (comma-separated).")
# Per client IP ("ip"), per email address tried ("key") or per account ("user"); over a
# limit, allauth answers 429 (or, for failed logins, refuses with a form error).
ACCOUNT_RATE_LIMITS = {
    "login": env.str("ACCOUNT_RATE_LIMIT_LOGIN", default="30/m/ip"),
    "login_failed": env.str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env.str("ACCOUNT_RATE_LIMIT_SIGNUP", default="10/m/ip,50/h/ip"),
    "reset_password": "10/m/ip,3/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("de", _("German")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Set only by the interface language switcher (a POST): readers never get it by browsing.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by the app itself through whitenoise) -----------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the site makes (delivery PDFs), shared by the web and worker processes. Never
# served as static files: only the views that check who asks hand them out.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------
# DJANGO_HTTPS defaults to on in production; turn it off only for plain-HTTP test rigs.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("DJANGO_BEHIND_HTTPS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

# --- Undersigned ----------------------------------------------------------------------
# How long an emailed verification link stays valid (seconds; default 7 days).
PETITION_VERIFY_LINK_MAX_AGE = env.int("PETITION_VERIFY_LINK_MAX_AGE", default=7 * 24 * 3600)
# How long the emailed "manage your signature" link stays valid (seconds; default 30 days).
PETITION_MANAGE_LINK_MAX_AGE = env.int("PETITION_MANAGE_LINK_MAX_AGE", default=30 * 24 * 3600)
# How long the link asking a signer to confirm a new version stays valid (default 30 days).
PETITION_RECONFIRM_LINK_MAX_AGE = env.int("PETITION_RECONFIRM_LINK_MAX_AGE", default=30 * 24 * 3600)
# Emails of any kind one signature may trigger (first link, re-sends, "already signed"),
# so a form cannot be used to bomb someone's inbox.
PETITION_MAX_EMAILS_PER_SIGNATURE = env.int("PETITION_MAX_EMAILS_PER_SIGNATURE", default=4)
# Quiet limits on signing, as "count/seconds" ("off" disables one). Over a limit, a
# signature is stored but never counts and no email goes out; the signer is not told.
PETITION_RATE_LIMITS = {
    "ip_letter_burst": env.str("RATE_LIMIT_IP_LETTER_BURST", default="10/60"),
    "ip_letter_sustained": env.str("RATE_LIMIT_IP_LETTER_SUSTAINED", default="60/3600"),
    "ip_site": env.str("RATE_LIMIT_IP_SITE", default="200/3600"),
    "email": env.str("RATE_LIMIT_EMAIL", default="20/3600"),
    # Signing attempts of any kind (honeypot and blocked ones too) from one IPv4 address
    # or IPv6 /64, site-wide. Past it nothing is stored at all, so a flood cannot fill the
    # disk; below it, quiet attempts stay in the moderation queue as shadow-banned.
    "ip_hard": env.str("RATE_LIMIT_IP_HARD", default="400/3600"),
    # Requests for a "manage your signature" link (these emails are outside the cap above).
    "manage_ip": env.str("RATE_LIMIT_MANAGE_IP", default="20/3600"),
    "manage_email": env.str("RATE_LIMIT_MANAGE_EMAIL", default="3/3600"),
    # Emails that verify an affiliation: per signature, per address they go to, per client
    # IP, and per letter for those its owners send to named signatories. Over a limit, the
    # form says so and nothing is sent.
    "affiliation_signature": env.str("RATE_LIMIT_AFFILIATION_SIGNATURE", default="3/3600"),
    "affiliation_address": env.str("RATE_LIMIT_AFFILIATION_ADDRESS", default="3/86400"),
    "affiliation_ip": env.str("RATE_LIMIT_AFFILIATION_IP", default="10/3600"),
    "affiliation_letter": env.str("RATE_LIMIT_AFFILIATION_LETTER", default="50/3600"),
    # Team invitations: per inviting account, per letter, and per invited address (any
    # letter). Over a limit the inviter is told to wait and nothing is sent.
    "invitation_inviter": env.str("RATE_LIMIT_INVITATION_INVITER", default="20/86400"),
    "invitation_letter": env.str("RATE_LIMIT_INVITATION_LETTER", default="20/86400"),
    "invitation_address": env.str("RATE_LIMIT_INVITATION_ADDRESS", default="3/86400"),
    # Readers' messages to a letter's organisers: per IPv4 address or IPv6 /64, per letter.
    "contact_ip": env.str("RATE_LIMIT_CONTACT_IP", default="5/3600"),
    "contact_letter": env.str("RATE_LIMIT_CONTACT_LETTER", default="50/86400"),
}
# How long a link that verifies an affiliation stays valid (seconds; default 3 days).
PETITION_AFFILIATION_LINK_MAX_AGE = env.int(
    "PETITION_AFFILIATION_LINK_MAX_AGE", default=3 * 24 * 3600
)
# Personal mailbox providers refused as an organization's domain, beyond the list shipped
# in petition/data/freemail_domains.txt and the disposable-address list.
AFFILIATION_EXTRA_FREEMAIL_DOMAINS = env.list("AFFILIATION_EXTRA_FREEMAIL_DOMAINS", default=[])
# Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed. Empty: the client
# address is REMOTE_ADDR, whatever headers say.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _name, _rate in PETITION_RATE_LIMITS.items():
    try:
        Rate.parse(_rate)
    except ValueError as _error:
        raise ImproperlyConfigured(f"Rate limit {_name}: {_error}.") from None
# An email not sent this long after it was queued is queued again by the sweeper.
OUTBOX_REQUEUE_AFTER_SECONDS = env.int("OUTBOX_REQUEUE_AFTER_SECONDS", default=60)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)

# --- Authoring and moderation ---------------------------------------------------------
# Letters published by their owners wait for site staff before going public.
# With sign-up open to anyone, a new account's letters wait for staff before going public.
LETTERS_REQUIRE_APPROVAL = env.bool("LETTERS_REQUIRE_APPROVAL", default=SIGNUP_MODE == "open")
# Everyone holding a role on a letter (owner, moderator) must set up TOTP first.
UNDERSIGNED_REQUIRE_MFA = env.bool("REQUIRE_MFA_FOR_MODERATORS", default=False)
MFA_SETUP_URL = "/accounts/2fa/totp/activate/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)
# Signers' IP addresses are kept this long for moderation (bursts, CIDR invalidation),
# then erased by a periodic task.
PETITION_IP_RETENTION_DAYS = env.int("PETITION_IP_RETENTION_DAYS", default=30)
# Signatures never confirmed by email are deleted this many days after they were made.
PETITION_UNVERIFIED_RETENTION_DAYS = env.int("PETITION_UNVERIFIED_RETENTION_DAYS", default=14)
# Signatures of a letter closed this many days ago lose their personal data: only the
# country, the dates and (where the signer agreed and it was public) the name remain.
PETITION_ANONYMIZE_AFTER_DAYS = env.int("PETITION_ANONYMIZE_AFTER_DAYS", default=180)
# Sent and failed emails are forgotten this many days after they were recorded (never
# sooner than a manage link lives: withdrawn signatures are erased once theirs expired).
PETITION_EMAIL_RECORD_DAYS = env.int("PETITION_EMAIL_RECORD_DAYS", default=30)
# Retention deletes or anonymizes this many signatures per transaction.
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
# The anomaly scan: how often, over how much recent history, and its thresholds per hour.
ANOMALY_SCAN_SECONDS = env.float("ANOMALY_SCAN_SECONDS", default=300.0)
ANOMALY_WINDOW_HOURS = env.int("ANOMALY_WINDOW_HOURS", default=3)
ANOMALY_BURST_PER_IP = env.int("ANOMALY_BURST_PER_IP", default=5)
ANOMALY_BURST_PER_DOMAIN = env.int("ANOMALY_BURST_PER_DOMAIN", default=30)
# Extra disposable-address domains on top of the list shipped with the project.
ANOMALY_EXTRA_DISPOSABLE_DOMAINS = env.list("ANOMALY_EXTRA_DISPOSABLE_DOMAINS", default=[])
# Bulk invalidation changes this many signatures per transaction.
MODERATION_BATCH_SIZE = env.int("MODERATION_BATCH_SIZE", default=1000)

# --- Trust log (trustlog/, docs/trust-log.md) -------------------------------------------
# The Ed25519 key that signs every letter's log checkpoints, as `manage.py log_keygen`
# prints it (PRIVATE+KEY+<name>+<id>+<base64>). Unset: a development key derived from
# DJANGO_SECRET_KEY when DJANGO_DEBUG is on; in production, no checkpoint is signed.
LOG_SIGNING_KEY = env.str("LOG_SIGNING_KEY", default="")
# Where the public signatures API finds each signature's log index (a layer above petition).
SIGNATURE_LOG_INDEXES = "trustlog.selectors.signature_log_indexes"

# The worker logs through LOGGING below, like the web processes (same format, same filters).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# `plain` for people, `json` (one object per line) for log shippers.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "filters": {"idle_periodic_tasks": {"()": "config.logging.IdlePeriodicTaskFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["idle_periodic_tasks"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
