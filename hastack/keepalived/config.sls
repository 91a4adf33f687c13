# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-keepalived-config-file-managed:
  file.managed:
    - name: {{ hastack.keepalived.config }}
    - source: salt://hastack/keepalived/files/keepalived.conf.jinja
    - template: jinja
    - user: root
    - group: root
    # May hold the VRRP password (VRRPv2): then no diff in returns or logs.
    - mode: '0640'
    - show_changes: {{ hastack.keepalived.show_changes }}
    - makedirs: True
    # keepalived -t exits non-zero on a config it would not run.
    - check_cmd: keepalived -t -f
    - context:
        keepalived: {{ hastack.keepalived | json }}
        minion_id: {{ hastack.minion_id }}
        bind_ip: {{ hastack.my_ip }}
    - require:
      - sls: hastack.keepalived.package
