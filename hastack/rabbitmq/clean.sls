# -*- coding: utf-8 -*-
# vim: ft=sls
# Takes RabbitMQ off this host: stops the broker (the others go on without it,
# a majority of the mq role still runs) and removes the files the formula
# wrote. The node stays a cluster member with its Mnesia data, so applying
# hastack.rabbitmq again starts it back into the cluster. The package stays
# unless hastack:clean:remove_packages is set. To take the node out for good,
# forget it first: salt-run state.orch hastack.rabbitmq.forget pillar='{"node": "<id>"}'
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-rabbitmq-clean-service-dead:
  service.dead:
    - name: {{ hastack.rabbitmq.service }}
    # Not the init script's status: it runs rabbitmqctl, which writes a new
    # Erlang cookie when the clean has removed it.
    - sig: {{ hastack.rabbitmq.daemon | json }}

hastack-rabbitmq-clean-config-file-absent:
  file.absent:
    - names:
      - {{ hastack.rabbitmq.config_dir }}/rabbitmq.conf
      - {{ hastack.rabbitmq.config_dir }}/rabbitmq-env.conf
      - {{ hastack.rabbitmq.config_dir }}/enabled_plugins
      - {{ hastack.rabbitmq.cookie_file }}
    - require:
      - service: hastack-rabbitmq-clean-service-dead
{%- if hastack.clean.remove_packages %}

hastack-rabbitmq-clean-package-removed:
  pkg.removed:
    - name: {{ hastack.rabbitmq.pkg }}
    - require:
      - file: hastack-rabbitmq-clean-config-file-absent
{%- endif %}
