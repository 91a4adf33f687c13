# -*- coding: utf-8 -*-
# vim: ft=sls
# HTTP health endpoint (port 9200) for HAProxy: 200 only when Synced and Primary.
# An init script, so it runs under the init system in the lab and under
# systemd's sysv generator on real hosts.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set health = hastack.galera.health %}

include:
  - .config

hastack-galera-health-user-present:
  user.present:
    - name: {{ health.user }}
    - system: True
    - usergroup: True
    - home: /nonexistent
    - createhome: False
    - shell: /usr/sbin/nologin

hastack-galera-health-script-file-managed:
  file.managed:
    - name: {{ health.script }}
    - source: salt://hastack/galera/files/galera-health.py
    - user: root
    - group: root
    - mode: '0755'
    - makedirs: True
    - require:
      - sls: hastack.galera.package

hastack-galera-health-init-file-managed:
  file.managed:
    - name: {{ health.init_script }}
    - source: salt://hastack/galera/files/galera-health.init.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0755'
    - context:
        health: {{ health | json }}

hastack-galera-health-default-file-managed:
  file.managed:
    - name: /etc/default/{{ health.service }}
    - source: salt://hastack/galera/files/galera-health.default.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        health: {{ health | json }}
        bind_ip: {{ hastack.my_ip }}
        socket: {{ hastack.galera.socket }}

# Boot links. Debian's update-rc.d needs no insserv (which Salt's sysvinit
# enable calls); with the links in place the service state finds it enabled.
hastack-galera-health-init-links-present:
  cmd.run:
    - name: update-rc.d {{ health.service }} defaults
    # A module call: no shell is started for the check.
    - unless:
      - fun: file.find
        path: /etc/rc2.d
        name: 'S??{{ health.service }}'
    - require:
      - file: hastack-galera-health-init-file-managed

hastack-galera-health-service-running:
  service.running:
    - name: {{ health.service }}
    - enable: True
    - require:
      - user: hastack-galera-health-user-present
      - cmd: hastack-galera-health-init-links-present
    - watch:
      - file: hastack-galera-health-script-file-managed
      - file: hastack-galera-health-init-file-managed
      - file: hastack-galera-health-default-file-managed
