# -*- coding: utf-8 -*-
# vim: ft=sls
{#-
  Takes the auto-heal's beacons off this host before hastack.clean stops its
  services: a beacon left behind would report every stopped service, and the
  heal would start it again. Removed from the minion's beacons.conf too. The
  custom beacon modules stay synced (they only load when configured). The
  master's reconciler still sees the host's roles: put the host under
  maintenance first (salt-run hastack_heal.maintenance <host> on).
#}
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- for name in hastack.beacons | sort %}

hastack-beacons-clean-{{ name }}-absent:
  beacon.absent:
    - name: {{ name }}
    - save: True
{%- endfor %}
