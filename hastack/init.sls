# -*- coding: utf-8 -*-
# vim: ft=sls
# Applies to a minion the tiers of its roles (pillar hastack:roles).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - hastack.validate
  - hastack.common
{%- for tier in hastack.my_tiers %}
  - hastack.{{ tier }}
{%- endfor %}
  - hastack.beacons
