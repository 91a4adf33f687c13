# -*- coding: utf-8 -*-
# vim: ft=sls
# RabbitMQ: the first node (lowest id) starts, the others follow one at a
# time; each joins only if it is not a member yet (hastack_rabbitmq.clustered),
# so a re-run on a formed cluster changes nothing.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set chain = namespace(previous="hastack-deploy-common-applied") %}

{%- for member in hastack.rabbitmq.deploy_order %}

hastack-deploy-rabbitmq-{{ member }}-applied:
  salt.state:
    - tgt: {{ member }}
    - sls: hastack.rabbitmq
    - require:
      - salt: {{ chain.previous }}
{%-   set chain.previous = "hastack-deploy-rabbitmq-" ~ member ~ "-applied" %}
{%- endfor %}
