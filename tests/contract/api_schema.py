#!/usr/bin/env python3
"""The REST API against its own OpenAPI document, on a running instance.

Starts `dripfeed serve` on a fresh SQLite data folder, signs a user up and
connects the demo account the way a browser does (the forms' server-function
addresses are read off the rendered pages), creates a `trade` token in
Settings and a plan through the API, then:

1. validates `/api/v1/openapi.json` with openapi-spec-validator (OpenAPI 3.1);
2. runs schemathesis against every operation with that token: no answer may
   be a 5xx, and every answer must be documented (status, content type) and
   match its schema.

Exits non-zero on the first failure. The schemathesis seed is fixed and
printed, so a failure can be replayed.

usage: api_schema.py DRIPFEED_BINARY SCHEMATHESIS_BINARY   (run by `make api-contract`)
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import requests
from openapi_spec_validator import validate

SEED = int(os.environ.get("API_CONTRACT_SEED", "20261202"))
EXAMPLES = os.environ.get("API_CONTRACT_EXAMPLES", "25")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def action(session, base, page, name):
    html = session.get(f"{base}{page}").text
    found = re.search(r'action="(/api/%s[0-9]*)"' % name, html)
    if not found:
        sys.exit(f"FAIL: no {name} form on {page}")
    return found.group(1)


def call(session, base, path, form):
    r = session.post(f"{base}{path}", data=form, headers={"Accept": "application/json"})
    if r.status_code >= 400:
        sys.exit(f"FAIL: {path} answered {r.status_code}: {r.text}")
    return r


def main():
    binary, st = sys.argv[1], sys.argv[2]
    data = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DRIPFEED_DATA_DIR=data,
        DRIPFEED_LISTEN=f"127.0.0.1:{port}",
        # schemathesis sends thousands of requests with one token.
        DRIPFEED_API_REQUESTS_PER_MINUTE="1000000",
        DRIPFEED_LOG="warn",
    )
    env.pop("DATABASE_URL", None)
    env.pop("DRIPFEED_DATABASE_URL", None)
    server = subprocess.Popen([binary, "serve"], env=env)
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        else:
            sys.exit("FAIL: the server did not start")

        browser = requests.Session()
        browser.headers["Origin"] = base
        call(browser, base, action(browser, base, "/signup", "sign_up"),
             {"email": "script@example.com", "password": "correct horse battery staple",
              "accept_terms": "on"})
        call(browser, base, action(browser, base, "/brokerage", "connect_demo_account"), {})
        created = call(browser, base, action(browser, base, "/account/settings", "create_api_token"),
                       {"name": "contract", "scope": "trade", "expires_in_days": ""}).json()
        token = created["token"]
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        accounts = api.get(f"{base}/api/v1/accounts").json()
        connection = accounts["data"][0]["connection"]["id"]
        plan = {
            "name": "Weekly VTI", "connection_id": connection,
            "legs": [{"symbol": "VTI", "amount": "25"}],
            "cadence": {"kind": "weekly", "weekday": "Mon"},
            "time": {"kind": "local", "value": "10:00:00"},
            "time_zone": "America/New_York", "start_date": "", "end_date": None,
            "max_total": None, "mode": {"kind": "pure"},
        }
        r = api.post(f"{base}/api/v1/plans", json=plan)
        if r.status_code != 201:
            sys.exit(f"FAIL: creating a plan through the API: {r.status_code} {r.text}")

        document = requests.get(f"{base}/api/v1/openapi.json").json()
        validate(document)
        print(f"openapi-spec-validator: the document (OpenAPI {document['openapi']}, "
              f"{len(document['paths'])} paths) is valid")

        print(f"schemathesis seed: {SEED}", flush=True)
        run = subprocess.run([
            st, "run", f"{base}/api/v1/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,status_code_conformance,"
                        "content_type_conformance,response_schema_conformance",
            "--max-examples", EXAMPLES,
            "--seed", str(SEED),
            "--workers", "1",
            "--generation-database", "none",
            "--phases", "examples,coverage,fuzzing",
            "--output-sanitize", "true",
            "--no-color",
        ])
        if run.returncode != 0:
            sys.exit("FAIL: schemathesis found answers that break the document (above)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
