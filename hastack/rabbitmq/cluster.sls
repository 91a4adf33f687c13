# -*- coding: utf-8 -*-
# vim: ft=sls
# Joins this node to the cluster only when it is not a member yet: re-running
# on a formed cluster changes and restarts nothing.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .service

hastack-rabbitmq-cluster-joined:
  hastack_rabbitmq.clustered:
    - name: {{ hastack.rabbitmq.node }}
    - peers: {{ hastack.rabbitmq.cluster_nodes | json }}
    - timeout: {{ hastack.rabbitmq.wait_timeout }}
    - require:
      - sls: hastack.rabbitmq.service
