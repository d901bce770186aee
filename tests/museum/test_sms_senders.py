"""SMS senders: the gateway sender POSTs JSON with its token to a real HTTP server, a gateway that fails
gives 503 and the code does not count, and the sender setting is checked at start."""

from __future__ import annotations

import dataclasses
import json
import re
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from museum.config import ConfigError, load_settings
from museum.sms import HttpSender, LogSender, MemorySender, build_sender

PHONE = "13812345678"


class Gateway:
    """A real HTTP server on a free loopback port that records what it is sent."""

    def __init__(self, status: int = 200):
        self.status = status
        self.requests: list[dict] = []
        self.server = make_server("127.0.0.1", 0, self)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append({"path": request.path, "headers": dict(request.headers), "body": request.get_data()})
        return Response('{"ok": true}', status=self.status, mimetype="application/json")(environ, start_response)


@pytest.fixture
def gateway():
    server = Gateway()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.thread.join(timeout=10)


def test_the_gateway_sender_posts_json_with_the_token(gateway):
    HttpSender(gateway.url, "s3cret-token", 5).send(PHONE, "您的验证码是 123456")
    [received] = gateway.requests
    assert received["path"] == "/send"
    assert received["headers"]["Authorization"] == "Bearer s3cret-token"
    assert received["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(received["body"]) == {"to": PHONE, "text": "您的验证码是 123456"}


def test_a_code_asked_for_through_the_api_reaches_the_gateway(app, client, gateway, monkeypatch):
    settings = dataclasses.replace(app.config["MUSEUM"], SMS_SENDER="http", SMS_URL=gateway.url, SMS_TOKEN="t")
    monkeypatch.setitem(app.config, "MUSEUM", settings)
    monkeypatch.setitem(app.extensions, "museum.sms", build_sender(settings))
    assert client.post("/api/v1/auth/sms-code", json={"phone": PHONE}).status_code == 202
    [received] = gateway.requests
    sent = json.loads(received["body"])
    assert sent["to"] == PHONE
    code = re.search(r"\b([0-9]{6})\b", sent["text"]).group(1)
    answer = client.post("/api/v1/auth/token", json={"phone": PHONE, "code": code, "name": "Li"})
    assert answer.status_code == 200


def test_a_gateway_that_refuses_is_503_and_the_number_may_ask_again_at_once(app, client, monkeypatch):
    failing = Gateway(status=500)
    failing.thread.start()
    try:
        monkeypatch.setitem(app.extensions, "museum.sms", HttpSender(failing.url, "", 5))
        refused = client.post("/api/v1/auth/sms-code", json={"phone": PHONE})
        assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "sms_unavailable"
        memory = MemorySender()
        monkeypatch.setitem(app.extensions, "museum.sms", memory)
        assert client.post("/api/v1/auth/sms-code", json={"phone": PHONE}).status_code == 202
        assert len(memory.messages) == 1
    finally:
        failing.server.shutdown()


def test_a_gateway_nobody_listens_at_is_503(app, client, monkeypatch):
    with make_server("127.0.0.1", 0, lambda *_: []) as probe:
        port = probe.server_port  # free again once closed
    monkeypatch.setitem(app.extensions, "museum.sms", HttpSender(f"http://127.0.0.1:{port}/", "", 2))
    answer = client.post("/api/v1/auth/sms-code", json={"phone": PHONE})
    assert answer.status_code == 503


def _settings(tmp_path, **environ):
    return load_settings(tmp_path, environ={"MUSEUM_SECRET_KEY": "x" * 20, **environ})


def test_the_sender_is_chosen_and_checked_at_start(tmp_path):
    assert isinstance(build_sender(_settings(tmp_path)), LogSender)
    assert isinstance(build_sender(_settings(tmp_path, MUSEUM_SMS_SENDER="memory")), MemorySender)
    http = build_sender(_settings(tmp_path, MUSEUM_SMS_SENDER="http", MUSEUM_SMS_URL="https://sms.example/send",
                                  MUSEUM_SMS_TOKEN="t", MUSEUM_SMS_TIMEOUT_S="3"))  # fmt: skip
    assert isinstance(http, HttpSender) and http.timeout_s == 3
    with pytest.raises(ConfigError, match="MUSEUM_SMS_SENDER"):
        _settings(tmp_path, MUSEUM_SMS_SENDER="pigeon")
    with pytest.raises(ConfigError, match="MUSEUM_SMS_URL"):
        _settings(tmp_path, MUSEUM_SMS_SENDER="http")
    with pytest.raises(ConfigError, match="MUSEUM_SMS_URL"):
        _settings(tmp_path, MUSEUM_SMS_SENDER="http", MUSEUM_SMS_URL="ftp://sms.example")
    with pytest.raises(ConfigError, match="MUSEUM_SMS_CODE_ADDRESS_LIMIT"):
        _settings(tmp_path, MUSEUM_SMS_CODE_ADDRESS_LIMIT="lots")
    with pytest.raises(ConfigError, match="MUSEUM_SMS_CODE_TTL_S"):
        _settings(tmp_path, MUSEUM_SMS_CODE_TTL_S="0")
