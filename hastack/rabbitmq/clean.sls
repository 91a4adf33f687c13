# -*- coding: utf-8 -*-
# vim: ft=sls
# Removes RabbitMQ from a host that lost the mq role. Forget the node from the
# cluster first: salt-run state.orch hastack.rabbitmq.forget pillar='{"node": "<id>"}'
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-rabbitmq-service-clean-dead:
  service.dead:
    - name: {{ hastack.rabbitmq.service }}
    - enable: False

hastack-rabbitmq-config-clean-file-absent:
  file.absent:
    - names:
      - {{ hastack.rabbitmq.config_dir }}/rabbitmq.conf
      - {{ hastack.rabbitmq.config_dir }}/rabbitmq-env.conf
      - {{ hastack.rabbitmq.config_dir }}/enabled_plugins
      - {{ hastack.rabbitmq.cookie_file }}
    - require:
      - service: hastack-rabbitmq-service-clean-dead

hastack-rabbitmq-package-clean-removed:
  pkg.removed:
    - name: {{ hastack.rabbitmq.pkg }}
    - require:
      - file: hastack-rabbitmq-config-clean-file-absent
