# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Keystone steps of hastack.deploy (included by orch/deploy.sls, which renders
  it only after the pillar validated; the steps hang between the markers
  hastack-deploy-keystone-started and hastack-deploy-keystone-done).

  The first api host (in id order) gets hastack.keystone, then, on that host
  only, hastack.keystone.bootstrap: the database schema (db_sync) and the
  admin, the identity service and its endpoints at the VIP (bootstrap). Both
  are guarded on the host (`db_sync --check`, hastack_keystone.bootstrapped),
  so a re-run changes nothing, and no two hosts ever run them at once. The
  other api hosts follow one at a time; they share the database and derive
  the same fernet and credential keys from pillar, so they need no step of
  their own.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set members = hastack.keystone.members %}

{%- if members %}

hastack-deploy-keystone-{{ members[0] }}-applied:
  salt.state:
    - tgt: {{ members[0] }}
    - sls: hastack.keystone
    - require:
      - test: hastack-deploy-keystone-started

hastack-deploy-keystone-bootstrapped:
  salt.state:
    - tgt: {{ members[0] }}
    - sls: hastack.keystone.bootstrap
    - require:
      - salt: hastack-deploy-keystone-{{ members[0] }}-applied
    - require_in:
      - test: hastack-deploy-keystone-done
{%-   set chain = namespace(previous="salt: hastack-deploy-keystone-bootstrapped") %}
{%-   for member in members[1:] %}

hastack-deploy-keystone-{{ member }}-applied:
  salt.state:
    - tgt: {{ member }}
    - sls: hastack.keystone
    - require:
      - {{ chain.previous }}
    - require_in:
      - test: hastack-deploy-keystone-done
{%-     set chain.previous = "salt: hastack-deploy-keystone-" ~ member ~ "-applied" %}
{%-   endfor %}
{%- endif %}
