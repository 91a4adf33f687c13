# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  `salt-run state.orch hastack.keystone.rotate`, after raising
  hastack:keystone:fernet_tokens:generation (and/or ...:credential:generation)
  by one in pillar. Every api host derives the same keys from pillar, so a
  rotation is: check that no host would skip a generation (that would drop
  keys of tokens still valid), then write the new repository on the api hosts
  one at a time (staged -> primary -> secondary, the layout fernet_rotate
  leaves), then re-encrypt the stored credentials with the new primary key.
  keystone reads its keys at every request: nothing restarts. A plain
  state.apply writes the same keys; this adds the check and the migration.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set valid = salt["hastack.validate"]()["valid"] %}
{%- set members = hastack.keystone.members %}

hastack-keystone-rotate-pillar-validated:
  hastack.validated:
    - failhard: True
{%- if valid and members %}

hastack-keystone-rotate-generations-checked:
  salt.function:
    - name: hastack_keystone.rotation_check
    - tgt: {{ members | json }}
    - tgt_type: list
    - failhard: True
    - require:
      - hastack: hastack-keystone-rotate-pillar-validated
{%-   set chain = namespace(previous="salt: hastack-keystone-rotate-generations-checked") %}
{%-   for member in members %}

hastack-keystone-rotate-{{ member }}-keys-written:
  salt.state:
    - tgt: {{ member }}
    - sls: hastack.keystone.keys
    - require:
      - {{ chain.previous }}
{%-     set chain.previous = "salt: hastack-keystone-rotate-" ~ member ~ "-keys-written" %}
{%-   endfor %}

# Credentials stay readable with a secondary key; migrating them to the
# primary lets the next rotations drop the old keys.
hastack-keystone-rotate-credentials-migrated:
  salt.function:
    - name: cmd.run
    - tgt: {{ members[0] }}
    - arg: [keystone-manage credential_migrate]
    - kwarg: {runas: {{ hastack.keystone.user }}}
    - require:
      - {{ chain.previous }}
{%- endif %}
