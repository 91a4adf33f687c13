# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-memcached-config-file-managed:
  file.managed:
    - name: {{ hastack.memcached.config }}
    - source: salt://hastack/memcached/files/memcached.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        memcached: {{ hastack.memcached | json }}
        bind_ip: {{ hastack.my_ip }}
    - require:
      - sls: hastack.memcached.package
