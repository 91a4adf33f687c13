# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Placement steps of hastack.deploy (included by orch/deploy.sls; between the
  markers hastack-deploy-placement-started and -done). First, on the first
  api host only, hastack.placement.bootstrap: the packages and
  placement.conf, `placement-manage db sync` (only unless the schema is at
  the package's head) and placement's keystone user, service and endpoints
  at the VIP (each checked first), so a second deploy runs nothing there;
  placement's app does not load without its tables, so this comes before it
  runs anywhere. Then the api hosts get hastack.placement one at a time,
  drained from the placement backend and put back once healthy
  (orch/rollout/_deploy.jinja).
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/rollout/_deploy.jinja" import deploy_tier with context %}
{{- deploy_tier(hastack, "placement", bootstrap="hastack.placement.bootstrap", bootstrap_first=true) }}
