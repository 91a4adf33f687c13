# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Nova steps of hastack.deploy (included by orch/deploy.sls; between the
  markers hastack-deploy-nova-started and -done). First, on the first api
  host (id order) only, hastack.nova.bootstrap: the packages and nova.conf,
  then, each only when needed, `nova-manage api_db sync` (unless nova_api is
  at the package's head), `cell_v2 map_cell0` (unless cell0 is mapped),
  `cell_v2 create_cell --name cell1` (unless cell1 is), `db sync` (unless
  nova is at the head) and nova's keystone user, service and endpoints at
  the VIP; nova-scheduler does not start on an empty database, so this comes
  before any nova service runs. Then every api host gets hastack.nova one at
  a time, drained from the nova and nova_metadata backends and put back once
  healthy (orch/rollout/_deploy.jinja).
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/rollout/_deploy.jinja" import deploy_tier with context %}
{{- deploy_tier(hastack, "nova", bootstrap="hastack.nova.bootstrap", bootstrap_first=true) }}
