# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-rabbitmq-service-running:
  service.running:
    - name: {{ hastack.rabbitmq.service }}
    # Found by its command line: the init script's status runs rabbitmqctl
    # (an Erlang VM start). systemd ignores sig and asks systemctl.
    - sig: {{ hastack.rabbitmq.daemon | json }}
    - enable: True
    - watch:
      - sls: hastack.rabbitmq.config
