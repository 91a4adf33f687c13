# -*- coding: utf-8 -*-
# vim: ft=sls
# Run once, on one api host, by orch.keystone.deploy (after hastack.keystone
# there): the database schema, then the admin user, project and role, the
# identity service and its public, internal and admin endpoints at the VIP.
# Both steps are guarded, so a re-run changes nothing: db_sync only unless
# `keystone-manage db_sync --check` says the schema is current; bootstrap only
# unless the admin gets a token here whose catalog lists those endpoints
# (hastack_keystone.bootstrapped). A changed admin password in pillar fails
# that check, and bootstrap then sets the new one. The password reaches
# keystone-manage in its environment (OS_BOOTSTRAP_PASSWORD), never on its
# command line; both run as the keystone user, so their logs stay keystone's.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set keystone = hastack.keystone %}

include:
  - .service

hastack-keystone-bootstrap-database-synced:
  cmd.run:
    - name: keystone-manage db_sync
    - runas: {{ keystone.user }}
    - unless: keystone-manage db_sync --check
    - require:
      - sls: hastack.keystone.service

hastack-keystone-bootstrap-admin-present:
  cmd.run:
    - name: >-
        keystone-manage bootstrap
        --bootstrap-username {{ keystone.admin_user }}
        --bootstrap-project-name {{ keystone.admin_project }}
        --bootstrap-role-name {{ keystone.admin_role }}
        --bootstrap-service-name keystone
        --bootstrap-region-id {{ keystone.region }}
        --bootstrap-admin-url {{ keystone.url }}
        --bootstrap-internal-url {{ keystone.url }}
        --bootstrap-public-url {{ keystone.url }}
    - runas: {{ keystone.user }}
    - env:
        OS_BOOTSTRAP_PASSWORD: {{ hastack.secrets.get("keystone_admin", "") | json }}
    - unless:
      - fun: hastack_keystone.bootstrapped
    - require:
      - cmd: hastack-keystone-bootstrap-database-synced
