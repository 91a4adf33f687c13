# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .config

hastack-rabbitmq-service-running:
  service.running:
    - name: {{ hastack.rabbitmq.service }}
    # No `sig`, although the init script's status costs a rabbitmqctl run:
    # Salt's status.pid skips every ps line that contains the job's own pid
    # as a substring, and the broker's line is full of numbers (-P 1048576),
    # so now and then a running broker was reported dead and the state failed.
    - enable: True
    - watch:
      - sls: hastack.rabbitmq.config
