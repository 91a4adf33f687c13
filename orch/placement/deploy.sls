# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Placement steps of hastack.deploy (included by orch/deploy.sls; between the
  markers hastack-deploy-placement-started and -done). The api hosts get
  hastack.placement one at a time, drained from the placement backend and
  put back once healthy (orch/rollout/_deploy.jinja). After the first host,
  on that host only, hastack.placement.bootstrap: `placement-manage db sync`
  (only unless the schema is at the package's head) and placement's keystone
  user, service and endpoints at the VIP (each checked first), so a second
  deploy runs nothing there. The root of placement's API answers without a
  database, so the first host is healthy before its schema exists.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/rollout/_deploy.jinja" import deploy_tier with context %}
{{- deploy_tier(hastack, "placement", bootstrap="hastack.placement.bootstrap") }}
