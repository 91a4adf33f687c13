# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes what hastack.common wrote: the stack's /etc/hosts names and the
# sysctl settings file (the running kernel keeps its current values until the
# next boot). The common packages stay: they are basic tools.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

{%- if hastack.common.manage_etc_hosts %}
{%-   for host, names in hastack.host_names.items() %}

hastack-common-clean-hosts-{{ host }}-absent:
  host.absent:
    - names: {{ names | json }}
    - ip: {{ hastack.hosts[host].ip }}
{%-   endfor %}
{%- endif %}

hastack-common-clean-sysctl-file-absent:
  file.absent:
    - name: /etc/sysctl.d/60-hastack.conf
