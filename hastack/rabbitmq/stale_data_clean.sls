# -*- coding: utf-8 -*-
# vim: ft=sls
# First half of bringing back a forgotten node (the orchestration
# hastack.rabbitmq.rejoin, orch/rabbitmq/rejoin.sls): clears its stale
# cluster data; applying hastack.rabbitmq then joins it.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-rabbitmq-stale_data_clean-forgotten-data-absent:
  hastack_rabbitmq.forgotten_data_absent:
    - name: {{ hastack.rabbitmq.node }}
    - peers: {{ hastack.rabbitmq.cluster_nodes | json }}
    - data_dir: {{ hastack.rabbitmq.data_dir }}
    - service: {{ hastack.rabbitmq.service }}
    - require:
      - sls: hastack.rabbitmq.package
