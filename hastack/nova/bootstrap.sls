# -*- coding: utf-8 -*-
# vim: ft=sls
# Run once, on one api host, by orch.nova.deploy, before any nova service of
# the tier runs (nova-scheduler does not start on an empty database): the
# packages and nova.conf, the API database's schema, cell0's mapping, cell1,
# the main database's schema (cell0's too), then nova's keystone user (role
# admin on the service project), the compute service and its endpoints at
# the VIP. Each step is guarded, so a re-run changes nothing: the syncs only
# unless their schema is at the head of the installed package's migrations
# (hastack_api.nova_schema_synced), the cells only unless
# `nova-manage cell_v2 list_cells` lists them (hastack_api.cell_present),
# the registration checks every object itself. nova-manage reads the
# database and RabbitMQ URLs from nova.conf: none is on a command line. It
# runs as the nova user, so its log stays nova's.
#
# The cell mappings hold URL templates (hastack.cell_url_templates), which
# nova fills from the reading host's nova.conf: no password is stored in the
# nova_api database, and a rotated password needs no update_cell.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set nova = hastack.nova %}

include:
  - .config

hastack-nova-bootstrap-api-database-synced:
  cmd.run:
    - name: nova-manage api_db sync
    - runas: {{ nova.user }}
    - unless:
      - fun: hastack_api.nova_schema_synced
        args: [api]
    - require:
      - sls: hastack.nova.config

hastack-nova-bootstrap-cell0-present:
  cmd.run:
    - name: nova-manage cell_v2 map_cell0 --database_connection '{{ nova.cell_urls.cell0_database }}'
    - runas: {{ nova.user }}
    - unless:
      - fun: hastack_api.cell_present
        args: [cell0]
    - require:
      - cmd: hastack-nova-bootstrap-api-database-synced

hastack-nova-bootstrap-cell1-present:
  cmd.run:
    - name: >-
        nova-manage cell_v2 create_cell --name {{ nova.cell_name }} --verbose
        --database_connection '{{ nova.cell_urls.cell1_database }}'
        --transport-url '{{ nova.cell_urls.cell1_transport }}'
    - runas: {{ nova.user }}
    - unless:
      - fun: hastack_api.cell_present
        args: [{{ nova.cell_name }}]
    - require:
      - cmd: hastack-nova-bootstrap-cell0-present

hastack-nova-bootstrap-database-synced:
  cmd.run:
    - name: nova-manage db sync
    - runas: {{ nova.user }}
    - unless:
      - fun: hastack_api.nova_schema_synced
        args: [main]
    - require:
      - cmd: hastack-nova-bootstrap-cell1-present

hastack-nova-bootstrap-service-present:
  hastack_keystone.service_registered:
    - name: nova
    - service_type: {{ nova.service_type }}
    - description: {{ nova.description | json }}
    - url: {{ nova.url | json }}
    - user: {{ nova.service_user }}
    - password_pillar: hastack:secrets:service_nova
    - project: {{ nova.service_project }}
    - require:
      - cmd: hastack-nova-bootstrap-database-synced
    # Keystone at the VIP may not answer for a moment (a server the rollout just
    # restarted): the registration is idempotent, so it is tried again.
    - retry:
        attempts: 3
        interval: 10
