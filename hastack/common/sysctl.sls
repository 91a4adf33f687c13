# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

{%- for key, value in hastack.common.sysctl.items() %}

hastack-common-sysctl-{{ key }}-present:
  sysctl.present:
    - name: {{ key }}
    - value: {{ value }}
    - config: /etc/sysctl.d/60-hastack.conf
{%- endfor %}
