# -*- coding: utf-8 -*-
# vim: ft=sls
# RabbitMQ: every broker starts at once, then the nodes join one at a time,
# in id order; each joins only if it is not a member yet
# (hastack_rabbitmq.clustered), so a re-run on a formed cluster changes nothing.
# Starting together matters after a full stop: a booting broker waits for the
# peers that ran when it stopped, so one started alone would wait for its
# timeout (10 minutes) before the others were even started.
# The vhost and the accounts live in the cluster, not on a node: they are
# made once, by the whole tier's states on the last node to join (every
# rabbitmqctl call costs about 2 s; a highstate still checks them everywhere).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set members = hastack.rabbitmq.deploy_order %}
{%- set chain = namespace(previous="salt: hastack-deploy-rabbitmq-brokers-started") %}

{%- if members %}

hastack-deploy-rabbitmq-brokers-started:
  salt.state:
    - tgt: {{ members | json }}
    - tgt_type: list
    - sls: hastack.rabbitmq.service
    - require:
      - test: hastack-deploy-rabbitmq-started
    - require_in:
      - test: hastack-deploy-rabbitmq-done
{%- endif %}

{%- for member in members %}
{#-   The last node to join gets the whole tier: its users and vhost too. #}
{%-   set sls = "hastack.rabbitmq" if loop.last else "hastack.rabbitmq.cluster" %}

hastack-deploy-rabbitmq-{{ member }}-applied:
  salt.state:
    - tgt: {{ member }}
    - sls: {{ sls }}
    - require:
      - {{ chain.previous }}
    - require_in:
      - test: hastack-deploy-rabbitmq-done
{%-   set chain.previous = "salt: hastack-deploy-rabbitmq-" ~ member ~ "-applied" %}
{%- endfor %}
