# -*- coding: utf-8 -*-
# vim: ft=sls
# placement.conf and the uwsgi settings. placement.conf holds the database
# password and placement's keystone password: 0640 root:placement, and its
# diff is never shown.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-placement-config-file-managed:
  file.managed:
    - name: {{ hastack.placement.config }}
    - source: salt://hastack/placement/files/placement.conf.jinja
    - template: jinja
    - user: root
    - group: {{ hastack.placement.group }}
    - mode: '0640'
    - show_changes: False
    - context:
        placement: {{ hastack.placement | json }}
        secrets: {{ hastack.placement_secrets | json }}
    - require:
      - sls: hastack.placement.package

hastack-placement-config-uwsgi-file-managed:
  file.managed:
    - name: {{ hastack.placement.uwsgi_ini }}
    - source: salt://hastack/placement/files/placement-api-uwsgi.ini.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        uwsgi: {{ hastack.placement.uwsgi | json }}
        logfile: {{ hastack.placement.logfile | json }}
        user: {{ hastack.placement.user | json }}
        group: {{ hastack.placement.group | json }}
        wsgi_file: {{ hastack.placement.wsgi_file | json }}
    - require:
      - sls: hastack.placement.package
