"""The control plane behind the VIP does its job: nova, placement and Horizon.

Everything goes through the VIP, as a cloud user meets it: nova's compute
service list (conductor and scheduler on every api host, nova-compute on
every compute host, all up), the hypervisor the compute host registered and
its resource provider in placement, and Horizon: the login page, a real
login, and the logged-in session surviving the stop of one host's web
server (sessions live in memcached, every dashboard host reads them).
"""

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from keystone_load import ADMIN_SECRET, issue_token, keystone_url

from hastack_lab.lab import wait_until

FIGURES = {}


def hosts_with(lab, role):
    return [h for h in lab.hosts if role in lab.roles_of(h)]


def api_get(url, token, headers=None, timeout=10):
    request = urllib.request.Request(url, headers={"X-Auth-Token": token, **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return json.loads(response.read().decode())


@pytest.fixture(scope="module")
def token(lab):
    return issue_token(keystone_url(lab), lab.secret(ADMIN_SECRET))[0]


@pytest.fixture(scope="module", autouse=True)
def print_figures():
    yield
    for name, value in FIGURES.items():
        print(f"[control plane] {name}: {value}")


def compute_services(lab, token):
    return api_get(f"http://{lab.vip}:8774/v2.1/os-services", token)["services"]


def test_conductor_and_scheduler_up_on_every_api_host_and_compute_on_every_compute_host(lab, token):
    expected = {(binary, host) for host in hosts_with(lab, "api")
                for binary in ("nova-conductor", "nova-scheduler")}
    expected |= {("nova-compute", host) for host in hosts_with(lab, "compute")}
    assert expected
    seen = {}

    def all_up():
        seen.clear()
        seen.update({(s["binary"], s["host"]): (s["state"], s["status"]) for s in compute_services(lab, token)})
        return all(seen.get(key) == ("up", "enabled") for key in expected)
    wait_until(all_up, 120, 3, "every nova service up")
    # No stray service (e.g. one registered under a wrong host name).
    assert set(seen) == expected, seen


def test_the_compute_hosts_are_hypervisors_and_resource_providers(lab, token):
    computes = hosts_with(lab, "compute")
    found = {}

    def registered():
        hypervisors = api_get(f"http://{lab.vip}:8774/v2.1/os-hypervisors/detail", token)["hypervisors"]
        providers = api_get(f"http://{lab.vip}:8778/resource_providers", token,
                            {"OpenStack-API-Version": "placement 1.14"})["resource_providers"]
        found["hypervisors"] = {h["service"]["host"]: h for h in hypervisors}
        found["providers"] = {p["name"] for p in providers}
        return set(found["hypervisors"]) == set(computes)
    wait_until(registered, 180, 5, "every compute host listed as a hypervisor")
    for host, hypervisor in found["hypervisors"].items():
        assert hypervisor["state"] == "up" and hypervisor["status"] == "enabled", hypervisor
        # Its resource provider in placement, under the same node name.
        assert hypervisor["hypervisor_hostname"] in found["providers"], (host, found["providers"])
    FIGURES["hypervisors"] = sorted(found["hypervisors"])


class Browser:
    """A cookie-keeping HTTP client for Horizon through the VIP (no proxy, bounded timeouts)."""

    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode(errors="replace")

    def post(self, path, fields, referer):
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Referer": referer})
        with self.opener.open(request, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode(errors="replace")

    def cookie(self, name):
        return next((c.value for c in self.cookies if c.name == name), None)


def login_form(body):
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    region = re.search(r'<input[^>]*name="region"[^>]*value="([^"]*)"', body) or \
        re.search(r'<select[^>]*name="region".*?<option[^>]*value="([^"]*)"', body, re.S)
    assert token, "no CSRF token on the login page"
    fields = {"csrfmiddlewaretoken": token.group(1)}
    if region:
        fields["region"] = region.group(1)
    return fields


def logged_in(status, url, body):
    return status == 200 and "/auth/login" not in url and 'name="password"' not in body


def test_horizon_login_and_the_session_survives_a_stopped_web_server(lab):
    dashboards = hosts_with(lab, "dashboard")
    assert len(dashboards) >= 2
    browser = Browser(f"http://{lab.vip}")
    status, url, body = browser.get("/auth/login/")
    assert status == 200 and 'name="password"' in body, (status, url)
    fields = dict(login_form(body), username="admin", password=lab.secret(ADMIN_SECRET))
    status, url, body = browser.post("/auth/login/", fields, referer=f"http://{lab.vip}/auth/login/")
    assert logged_in(status, url, body), (status, url, body[:500])
    assert browser.cookie("sessionid")
    # Round robin over every dashboard host: each one knows the session.
    for _ in range(2 * len(dashboards)):
        assert logged_in(*browser.get("/project/")), "a dashboard host did not know the session"

    stopped = dashboards[0]
    lab.salt(stopped, "service.stop", "apache2")
    try:
        stopped_at = time.monotonic()
        answers = [browser.get("/project/") for _ in range(2 * len(dashboards))]
        FIGURES["requests while one web server was stopped"] = len(answers)
        assert all(logged_in(*a) for a in answers), [a[:2] for a in answers]
        FIGURES["seconds"] = round(time.monotonic() - stopped_at, 1)
    finally:
        lab.salt(stopped, "service.start", "apache2")
    wait_until(lambda: logged_in(*browser.get("/project/")), 60, 1, "Horizon answering with the session")
