# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Horizon steps of hastack.deploy (included by orch/deploy.sls; between the
  markers hastack-deploy-horizon-started and -done): the dashboard hosts get
  hastack.horizon one at a time, drained from the horizon backend and put
  back once healthy (orch/rollout/_deploy.jinja). Horizon keeps no state of
  its own (sessions live in memcached), so it has no one-time step.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/rollout/_deploy.jinja" import deploy_tier with context %}
{{- deploy_tier(hastack, "horizon") }}
