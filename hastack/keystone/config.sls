# -*- coding: utf-8 -*-
# vim: ft=sls
# keystone.conf and the uwsgi settings. keystone.conf holds the database
# password: 0640 root:keystone, and its diff is never shown.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .package

hastack-keystone-config-file-managed:
  file.managed:
    - name: {{ hastack.keystone.config }}
    - source: salt://hastack/keystone/files/keystone.conf.jinja
    - template: jinja
    - user: root
    - group: {{ hastack.keystone.group }}
    - mode: '0640'
    - show_changes: False
    - context:
        keystone: {{ hastack.keystone | json }}
        memcache_servers: {{ hastack.keystone.memcache_servers | json }}
        db_connection: {{ hastack.keystone_secrets.db_connection | json }}
    - require:
      - sls: hastack.keystone.package

hastack-keystone-config-uwsgi-file-managed:
  file.managed:
    - name: {{ hastack.keystone.uwsgi_ini }}
    - source: salt://hastack/keystone/files/keystone-uwsgi.ini.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        uwsgi: {{ hastack.keystone.uwsgi | json }}
        logfile: {{ hastack.keystone.logfile | json }}
        user: {{ hastack.keystone.user | json }}
        group: {{ hastack.keystone.group | json }}
        wsgi_file: {{ hastack.keystone.wsgi_file | json }}
    - require:
      - sls: hastack.keystone.package
