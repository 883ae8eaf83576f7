"""Alerts: run failures and failed checks, posted to a Slack-format webhook.

The webhook URL comes from ``NBA_ALERT_WEBHOOK_URL``; without it every alert is only logged.
Messages never carry a secret: every value of a secret-looking environment variable (``*KEY*``,
``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``, the webhook URL itself) and every ``apiKey=`` /
``Authorization`` value is replaced by ``[redacted]`` before anything is logged or sent.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx

WEBHOOK_ENV = "NBA_ALERT_WEBHOOK_URL"
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|WEBHOOK|CREDENTIAL)", re.IGNORECASE)
_SECRET_PATTERNS = (
    re.compile(r"(?i)((?:api[_-]?key|apikey|access[_-]?token|token|key)=)[^&\s\"']+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+)?[^\s\"',}]+"),
    re.compile(r"(https://hooks\.slack\.com/services/)[^\s\"']+"),
)
MAX_TEXT = 3500  # Slack truncates long sections; keep the message readable

log = logging.getLogger("nba_assets.alerts")


@dataclass(frozen=True)
class Alert:
    title: str
    lines: tuple[str, ...]
    severity: str = "error"  # error | warning


def _secret_values(env: Mapping[str, str]) -> list[str]:
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and v and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` without any secret: environment secrets and key-looking parameters replaced."""
    env = os.environ if env is None else env
    for value in _secret_values(env):
        text = text.replace(value, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def slack_payload(alert: Alert, env: Mapping[str, str] | None = None) -> dict:
    """The Slack incoming-webhook body of ``alert`` (``text`` plus one mrkdwn section)."""
    icon = ":rotating_light:" if alert.severity == "error" else ":warning:"
    title = redact(f"{icon} {alert.title}", env)
    body = redact("\n".join(alert.lines), env)
    if len(body) > MAX_TEXT:
        body = body[: MAX_TEXT - 20] + "\n… (truncated)"
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body or "(no details)"}},
        ],
    }


def send(alert: Alert, *, logger: logging.Logger | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Posts ``alert`` to the webhook (True when it was accepted); only logs it when no webhook is
    configured or the post fails. Never raises."""
    env = os.environ if env is None else env
    logger = logger or log
    payload = slack_payload(alert, env)
    url = env.get(WEBHOOK_ENV, "").strip()
    summary = payload["text"] + " | " + payload["blocks"][1]["text"]["text"].replace("\n", " | ")
    if not url:
        logger.warning(f"alert (log only, {WEBHOOK_ENV} unset): {summary}")
        return False
    try:
        response = httpx.post(url, json=payload, timeout=10.0)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error(f"alert webhook post failed ({redact(type(exc).__name__ + ': ' + str(exc), env)}): {summary}")
        return False
    logger.info(f"alert posted: {payload['text']}")
    return True


def run_failure_alert(
    *, job: str, run_id: str, partition: str | None, error: str | None, failed_steps: Sequence[str], url: str | None
) -> Alert:
    lines = [f"*job* `{job}`", f"*run* `{run_id}`"]
    if partition:
        lines.append(f"*partitions* {partition}")
    if failed_steps:
        lines.append(f"*failed steps* {', '.join(failed_steps)}")
    if error:
        lines.append(f"*error* {error.strip()[:1500]}")
    if url:
        lines.append(f"<{url}|open the run>")
    return Alert(title=f"nba-props: run failed ({job})", lines=tuple(lines), severity="error")


def check_failure_alert(
    *, failures: Iterable[tuple[str, str, str, str | None]], run_id: str, job: str, url: str | None
) -> Alert:
    """``failures``: (asset, check, severity, description) of every failed check of one run."""
    failures = list(failures)
    lines = [f"*run* `{run_id}` (`{job}`)"]
    for asset, check, severity, description in failures:
        lines.append(f"• `{asset}` check `{check}` ({severity.lower()}): {description or 'failed'}")
    if url:
        lines.append(f"<{url}|open the run>")
    worst = "error" if any(f[2].upper() == "ERROR" for f in failures) else "warning"
    names = ", ".join(sorted({f[1] for f in failures}))
    return Alert(title=f"nba-props: {len(failures)} check(s) failed ({names})", lines=tuple(lines), severity=worst)
