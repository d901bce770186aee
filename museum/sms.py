"""Text messages to mobile phones, through a sender chosen by ``MUSEUM_SMS_SENDER``:

- ``log`` (the default, for the demo): the message is written to the log, the number masked;
- ``http``: POSTed as JSON to an SMS gateway (``MUSEUM_SMS_URL``, ``MUSEUM_SMS_TOKEN`` as a bearer token,
  ``MUSEUM_SMS_TIMEOUT_S``): ``{"to": "13812345678", "text": "..."}``; any 2xx answer means accepted;
- ``memory``: kept in a list in the process, for tests to read.

Senders are called after the transaction that made the message committed, never inside it.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app

from museum.config import Settings
from museum.phones import mask_phone

log = logging.getLogger(__name__)


class SmsUnavailable(Exception):
    """The gateway could not be reached or did not take the message."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Send ``text`` to a normalised mainland number; raises ``SmsUnavailable`` when it cannot."""


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class LogSender:
    """Writes the message to the log: the text in full (that is the demo's point), the number masked."""

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", mask_phone(phone), text)


class MemorySender:
    """Keeps every message in memory, newest last (for tests)."""

    def __init__(self) -> None:
        self.messages: list[SmsMessage] = []
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        with self._lock:
            self.messages.append(SmsMessage(phone, text))

    def to(self, phone: str) -> list[SmsMessage]:
        return [message for message in self.messages if message.phone == phone]


class HttpSender:
    """POSTs each message as JSON to an SMS gateway, with the token as a bearer token."""

    def __init__(self, url: str, token: str, timeout_s: int) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def send(self, phone: str, text: str) -> None:
        body = json.dumps({"to": phone, "text": text}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # The URL's scheme is http or https: museum.config refuses any other at start.
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as exc:
            raise SmsUnavailable(f"the SMS gateway answered {exc.code}") from None
        except (OSError, ValueError) as exc:  # refused, unreachable, timed out
            raise SmsUnavailable(f"the SMS gateway cannot be reached ({type(exc).__name__})") from None


def build_sender(settings: Settings) -> SmsSender:
    """The sender the settings choose (validated at start: museum.config)."""
    if settings.SMS_SENDER == "http":
        return HttpSender(settings.SMS_URL, settings.SMS_TOKEN, settings.SMS_TIMEOUT_S)
    if settings.SMS_SENDER == "memory":
        return MemorySender()
    return LogSender()


def init_app(app: Flask) -> None:
    app.extensions["museum.sms"] = build_sender(app.config["MUSEUM"])


def sender() -> SmsSender:
    """The app's SMS sender."""
    return current_app.extensions["museum.sms"]
