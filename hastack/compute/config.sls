# -*- coding: utf-8 -*-
# vim: ft=sls
# /etc/nova/nova-compute.conf: every setting nova-compute needs (RabbitMQ,
# placement, the virt driver). Debian's init script reads it after
# /etc/nova/nova.conf, so it wins over both Debian's nova.conf and, on a host
# that is also an api host, the nova tier's. It holds the RabbitMQ and
# keystone passwords: 0640 root:nova, and its diff is never shown.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-compute-config-file-managed:
  file.managed:
    - name: {{ hastack.compute.config }}
    - source: salt://hastack/compute/files/nova-compute.conf.jinja
    - template: jinja
    - user: root
    - group: {{ hastack.nova.group }}
    - mode: '0640'
    - show_changes: False
    - context:
        compute: {{ hastack.compute | json }}
        nova: {{ hastack.nova | json }}
        placement: {{ hastack.placement | json }}
        secrets: {{ hastack.compute_secrets | json }}
        oslo: {{ hastack.rabbitmq.oslo | json }}
        my_ip: {{ hastack.my_ip | json }}
    - require:
      - sls: hastack.compute.package
