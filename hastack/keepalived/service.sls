# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config
  - hastack.haproxy.service

hastack-keepalived-service-running:
  service.running:
    - name: {{ hastack.keepalived.service }}
    - enable: True
    # Debian's sysvinit script has no `status`: find the daemon by its
    # command line there (systemd ignores this).
    - sig: {{ hastack.keepalived.daemon }}
    # keepalived re-reads its config on SIGHUP without dropping the VIP.
    - reload: True
    # A watch reload (SIGHUP) right after the first start would reach
    # keepalived before its signal handlers exist and kill it.
    - init_delay: 1
    - watch:
      - sls: hastack.keepalived.config
    # Never claim the VIP before HAProxy can serve it.
    - require:
      - sls: hastack.haproxy.service
