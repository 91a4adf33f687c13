# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  `salt-run state.orch hastack.rollout`: re-apply the stateless tiers behind
  the VIP (tier blocks with `rollout: true`) after a configuration change or
  a package upgrade, one host at a time (hastack.rollout in cluster_view):
  drained from those tiers' HAProxy backends, applied, healthy, back in,
  next host. A host that fails stops the rollout and stays drained; the
  hosts not yet visited and those already done keep serving.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/rollout/_host.jinja" import rollout_host with context %}
{%- set valid = salt["hastack.validate"]()["valid"] %}
{%- set lb_hosts = hastack.roles.get("lb", []) %}

hastack-rollout-pillar-validated:
  hastack.validated:
    - failhard: True
{%- if valid %}
{%-   set chain = namespace(previous="hastack: hastack-rollout-pillar-validated") %}
{%-   for visit in hastack.rollout %}
{{ rollout_host("hastack-rollout", visit.host, visit.sls, visit.backends, visit.health,
                lb_hosts, hastack.haproxy.drain_timeout, chain.previous) }}
{%-     set chain.previous = "salt: hastack-rollout-" ~ visit.host ~ "-up" %}
{%-   endfor %}
{%- endif %}
