# -*- coding: utf-8 -*-
# vim: ft=sls
# Load balancers: HAProxy first, then keepalived (which claims the VIP only
# where HAProxy runs). All lb hosts at once: the VIP stays on one of them.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

{%- if hastack.roles.get("lb") %}

hastack-deploy-lb-applied:
  salt.state:
    - tgt: {{ hastack.roles.lb | json }}
    - tgt_type: list
    - sls:
      - hastack.haproxy
      - hastack.keepalived
    - require:
      - salt: hastack-deploy-common-applied
{%- endif %}
