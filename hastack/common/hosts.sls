# -*- coding: utf-8 -*-
# vim: ft=sls
# Every stack host resolves every other by name, without depending on DNS
# (Galera, RabbitMQ node names and swift rings use these names).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

{%- if hastack.common.manage_etc_hosts %}
{%-   for host, names in hastack.host_names.items() %}

hastack-common-hosts-{{ host }}-present:
  host.only:
    - name: {{ hastack.hosts[host].ip }}
    - hostnames: {{ names | json }}
{%-   endfor %}
{%- endif %}
