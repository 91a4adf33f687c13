# -*- coding: utf-8 -*-
# vim: ft=sls
# nova.conf and the two uwsgi services' settings. nova.conf holds the
# database, RabbitMQ and keystone passwords: 0640 root:nova, and its diff is
# never shown.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set nova = hastack.nova %}

include:
  - .package

hastack-nova-config-file-managed:
  file.managed:
    - name: {{ nova.config }}
    - source: salt://hastack/nova/files/nova.conf.jinja
    - template: jinja
    - user: root
    - group: {{ nova.group }}
    - mode: '0640'
    - show_changes: False
    - context:
        nova: {{ nova | json }}
        placement: {{ hastack.placement | json }}
        secrets: {{ hastack.nova_secrets | json }}
        oslo: {{ hastack.rabbitmq.oslo | json }}
        my_ip: {{ hastack.my_ip | json }}
    - require:
      - sls: hastack.nova.package

# The lock directory oslo.concurrency uses (nova.conf [oslo_concurrency]).
hastack-nova-config-lock-directory-managed:
  file.directory:
    - name: {{ nova.lock_path }}
    - user: {{ nova.user }}
    - group: {{ nova.group }}
    - mode: '0750'
    - require:
      - sls: hastack.nova.package
{%- for name, service in nova.uwsgi_services | dictsort %}

hastack-nova-config-{{ name }}-uwsgi-file-managed:
  file.managed:
    - name: {{ service.ini }}
    - source: salt://hastack/nova/files/uwsgi.ini.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        name: {{ name | json }}
        uwsgi: {{ service | json }}
        user: {{ nova.user | json }}
        group: {{ nova.group | json }}
        state_path: {{ nova.state_path | json }}
    - require:
      - sls: hastack.nova.package
{%- endfor %}
