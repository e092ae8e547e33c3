"""Fuzzing the REST API from its own OpenAPI document (schemathesis): every operation —
reads and writes — with generated paths, query strings and bodies, as a community's
secretary and as a grid worker, a few examples each (bounded, derandomized). Every answer
must be no server error, JSON, a status code the document lists and a body its schema
allows (schemathesis' own checks). Writes happen inside the test's transaction and are
rolled back.

(schemathesis' pytest plugin does not run under this pytest, so the strategies are
driven directly.)"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
USERS = ("secretary", "grid1")


def _token(app, username: str) -> str:
    client = app.test_client()
    response = client.post("/api/v1/security/login", json={"username": username, "password": "Hongse@2026",
                                                           "provider": "db"})
    return response.json["access_token"]


def _fuzz(app, methods: set[str]) -> tuple[int, list]:
    tokens = {username: _token(app, username) for username in USERS}
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", app,
                                            headers={"Authorization": f"Bearer {tokens['secretary']}"})
    failures, tried = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in methods:
            continue
        tried += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=2, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            for username, token in tokens.items():
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                try:
                    case.validate_response(response, checks=CHECKS)
                except BaseException as problems:  # (a group of schemathesis failures)
                    for problem in getattr(problems, "exceptions", [problems]):
                        failures.append((username, case.method, case.formatted_path, response.status_code,
                                         getattr(problem, "title", type(problem).__name__),
                                         str(getattr(problem, "message", problem))[:300]))

        run()
    return tried, failures


def test_reads_answer_as_documented(app):
    tried, failures = _fuzz(app, {"GET"})
    assert tried >= 200, tried
    assert not failures, failures[:10]


def test_writes_answer_as_documented(app):
    tried, failures = _fuzz(app, {"POST", "PUT", "PATCH", "DELETE"})
    assert tried >= 150, tried
    assert not failures, failures[:10]
