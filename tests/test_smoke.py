import json

import client


def test_index_page_is_html_with_length(server):
    r = client.get(server.port, "/")
    assert r.status == 200
    assert r.header("content-type") == "text/html; charset=utf-8"
    assert int(r.header("content-length")) == len(r.body)
    assert b"<h1>" in r.body


def test_status_reports_counters(server):
    client.get(server.port, "/")
    r = client.get(server.port, "/api/status")
    assert r.status == 200
    assert r.header("content-type") == "application/json"
    data = json.loads(r.body)
    assert data["http"]["requests"] >= 1
    assert data["http"]["accepted"] >= 2
    assert data["heap_free"] > 0
