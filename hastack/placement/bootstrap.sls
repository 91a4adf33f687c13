# -*- coding: utf-8 -*-
# vim: ft=sls
# Run once, on one api host, by orch.placement.deploy before placement runs
# anywhere (its app does not load without its tables): the packages and
# placement.conf, the database schema, then placement's keystone user (role admin on
# the service project), its service and its public, internal and admin
# endpoints at the VIP. Both are guarded, so a re-run changes nothing: the
# sync only unless the schema is at the head of the installed package's
# migrations (hastack_api.placement_schema_synced); the registration checks
# every object itself (hastack_keystone.service_registered). Passwords are
# read from pillar on the host and go to keystone in request bodies only.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set placement = hastack.placement %}

include:
  - .config

hastack-placement-bootstrap-database-synced:
  cmd.run:
    - name: placement-manage db sync
    - runas: {{ placement.user }}
    - unless:
      - fun: hastack_api.placement_schema_synced
    - require:
      - sls: hastack.placement.config

hastack-placement-bootstrap-service-present:
  hastack_keystone.service_registered:
    - name: {{ placement.service_type }}
    - service_type: {{ placement.service_type }}
    - description: {{ placement.description | json }}
    - url: {{ placement.url | json }}
    - user: {{ placement.service_user }}
    - password_pillar: hastack:secrets:service_placement
    - project: {{ placement.service_project }}
    - require:
      - cmd: hastack-placement-bootstrap-database-synced
    # Keystone at the VIP may not answer for a moment (a server the rollout just
    # restarted): the registration is idempotent, so it is tried again.
    - retry:
        attempts: 3
        interval: 10
