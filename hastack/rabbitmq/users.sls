# -*- coding: utf-8 -*-
# vim: ft=sls
# Users and vhosts are cluster-wide: every member converges to the same set.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set rabbit = hastack.rabbitmq %}

include:
  - .cluster

hastack-rabbitmq-users-vhost-present:
  rabbitmq_vhost.present:
    - name: {{ rabbit.vhost }}
    - require:
      - sls: hastack.rabbitmq.cluster

hastack-rabbitmq-users-openstack-user-present:
  # Not rabbitmq_user.present: that puts the password on rabbitmqctl's
  # command line. This one reads it from pillar and hands it over on stdin.
  hastack_rabbitmq.user_present:
    - name: {{ rabbit.openstack_user }}
    - password_pillar: hastack:secrets:rabbit_openstack
    - perms:
        {{ rabbit.vhost }}: ['.*', '.*', '.*']
    - require:
      - rabbitmq_vhost: hastack-rabbitmq-users-vhost-present

# The well-known default account must not exist on a production broker.
hastack-rabbitmq-users-guest-user-absent:
  rabbitmq_user.absent:
    - name: guest
    - require:
      - sls: hastack.rabbitmq.cluster
