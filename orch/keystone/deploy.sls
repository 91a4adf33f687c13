# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Keystone steps of hastack.deploy (included by orch/deploy.sls, which renders
  it only after the pillar validated; the steps hang between the markers
  hastack-deploy-keystone-started and hastack-deploy-keystone-done).

  The api hosts get hastack.keystone one at a time, each drained from the
  keystone backend first and put back once healthy (orch/rollout/_deploy.jinja),
  so a re-deploy of a running stack drops no request. After the first host
  (in id order), and on that host only, hastack.keystone.bootstrap: the
  database schema (db_sync) and the admin, the identity service and its
  endpoints at the VIP (bootstrap). Both are guarded on the host (`db_sync
  --check`, hastack_keystone.bootstrapped), so a re-run changes nothing, and
  no two hosts ever run them at once. The other hosts share the database and
  derive the same fernet and credential keys from pillar, so they need no
  step of their own.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- from "orch/rollout/_deploy.jinja" import deploy_tier with context %}
{{- deploy_tier(hastack, "keystone", bootstrap="hastack.keystone.bootstrap") }}
