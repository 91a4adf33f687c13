# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  The auto-heal's fast path on this host: the `service` beacon for every
  service of its tiers (tier blocks' `services`) and the custom cluster
  beacons of its tiers (tier blocks' `beacon`, from _beacons/). Which beacons
  and their options are derived in Python (hastack.beacons_of, seen here as
  mapdata `beacons`); this file only hands them to beacon.present. They are
  saved to the minion's beacons.conf, so a restarted minion keeps them.
  The custom beacons come with the formula's other modules: a highstate
  syncs them first, and so does hastack.deploy (hastack-deploy-modules-synced).
  No saltutil.sync_beacons state here: under test=True it always reports a
  pending change, and a dry run of a healthy stack must report none.
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

{%- for name, options in hastack.beacons | dictsort %}

hastack-beacons-{{ name }}-present:
  beacon.present:
    - name: {{ name }}
    - save: True
{%-   for key, value in options | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
{%- endfor %}
