# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-rabbitmq-service-running:
  service.running:
    - name: {{ hastack.rabbitmq.service }}
    - enable: True
    - watch:
      - sls: hastack.rabbitmq.config
