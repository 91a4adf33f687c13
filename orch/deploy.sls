# -*- coding: utf-8 -*-
# vim: ft=sls
# Full deployment, tier by tier. Run with `salt-run state.orch hastack.deploy`
# (after `salt-run saltutil.sync_all`, so the master knows hastack.validated).
# Validation comes first and stops everything before any change.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

# Each tier's steps live in orch/<tier>/deploy.sls and require the common step.
include:
  - orch.galera.deploy
  - orch.rabbitmq.deploy
  - orch.lb.deploy

hastack-deploy-pillar-validated:
  hastack.validated:
    - failhard: True

hastack-deploy-modules-synced:
  salt.function:
    - name: saltutil.sync_all
    - tgt: {{ hastack.stack_minions | json }}
    - tgt_type: list
    - require:
      - hastack: hastack-deploy-pillar-validated

hastack-deploy-common-applied:
  salt.state:
    - tgt: {{ hastack.stack_minions | json }}
    - tgt_type: list
    - sls: hastack.common
    - require:
      - salt: hastack-deploy-modules-synced


{%- if hastack.roles.get("cache") %}

hastack-deploy-memcached-applied:
  salt.state:
    - tgt: {{ hastack.roles.cache | json }}
    - tgt_type: list
    - sls: hastack.memcached
    - require:
      - salt: hastack-deploy-common-applied
{%- endif %}
