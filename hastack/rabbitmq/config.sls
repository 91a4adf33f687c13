# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set rabbit = hastack.rabbitmq %}

include:
  - .package

# Identical on every node, or they cannot talk to each other (nor rabbitmqctl to them).
hastack-rabbitmq-config-cookie-file-managed:
  file.managed:
    - name: {{ rabbit.cookie_file }}
    - contents_pillar: hastack:secrets:rabbit_cookie
    - user: {{ rabbit.user }}
    - group: {{ rabbit.group }}
    - mode: '0400'
    - show_changes: False
    - require:
      - sls: hastack.rabbitmq.package

hastack-rabbitmq-config-env-file-managed:
  file.managed:
    - name: {{ rabbit.config_dir }}/rabbitmq-env.conf
    - source: salt://hastack/rabbitmq/files/rabbitmq-env.conf.jinja
    - template: jinja
    - mode: '0644'
    - context:
        rabbit: {{ rabbit | json }}
        bind_ip: {{ hastack.my_ip }}
    - require:
      - sls: hastack.rabbitmq.package

hastack-rabbitmq-config-file-managed:
  file.managed:
    - name: {{ rabbit.config_dir }}/rabbitmq.conf
    - source: salt://hastack/rabbitmq/files/rabbitmq.conf.jinja
    - template: jinja
    - mode: '0644'
    - context:
        rabbit: {{ rabbit | json }}
        bind_ip: {{ hastack.my_ip }}
    - require:
      - sls: hastack.rabbitmq.package

hastack-rabbitmq-config-plugins-file-managed:
  file.managed:
    - name: {{ rabbit.config_dir }}/enabled_plugins
    - contents: {{ rabbit.enabled_plugins | json }}
    - mode: '0644'
    - require:
      - sls: hastack.rabbitmq.package
