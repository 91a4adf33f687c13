# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-haproxy-config-file-managed:
  file.managed:
    - name: {{ hastack.haproxy.config }}
    - source: salt://hastack/haproxy/files/haproxy.cfg.jinja
    - template: jinja
    - user: root
    - group: haproxy
    # Holds the stats password: root and the haproxy group only, and no diff
    # in returns or logs (they end up in job caches and central logging).
    - mode: '0640'
    - show_changes: False
    # A config HAProxy would reject never replaces the running one.
    - check_cmd: haproxy -c -f
    - context:
        haproxy: {{ hastack.haproxy | json }}
        vip: {{ hastack.network.vip }}
        bind_ip: {{ hastack.my_ip }}
        stats_password: {{ hastack.secrets.haproxy_stats | json }}
    - require:
      - sls: hastack.haproxy.package
