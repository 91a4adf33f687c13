# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  The auto-heal's fast path on this host: the `service` beacon for every
  service of its tiers (tier blocks' `services`) and the custom cluster
  beacons of its tiers (tier blocks' `beacon`, from _beacons/). Which beacons
  and their options are derived in Python (hastack.beacons_of, seen here as
  mapdata `beacons`); this file only hands them to beacon.present. They are
  saved to the minion's beacons.conf, so a restarted minion keeps them.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

{%- if hastack.beacons %}

# A custom beacon must be on the minion (and loaded) before it is configured.
hastack-beacons-modules-synced:
  saltutil.sync_beacons:
    - refresh: True
{%- endif %}
{%- for name, options in hastack.beacons | dictsort %}

hastack-beacons-{{ name }}-present:
  beacon.present:
    - name: {{ name }}
    - save: True
{%-   for key, value in options | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
    - require:
      - saltutil: hastack-beacons-modules-synced
{%- endfor %}
