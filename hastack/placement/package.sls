# -*- coding: utf-8 -*-
# vim: ft=sls
# The Debian packages. Their debconf answers are set first: the postinsts
# then configure no database, write no keystone settings and register no
# endpoint (db sync and registration run once, from orch.placement.deploy, on
# one host). The init script's settings come before the package too: its
# postinst starts placement-api, and that start then binds the stack IP only,
# never the VIP's port on every address.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set placement = hastack.placement %}

hastack-placement-package-debconf-utils-installed:
  pkg.installed:
    - name: {{ placement.debconf_pkg }}
    - reload_modules: True
{%- for package, answers in placement.debconf | dictsort %}

hastack-placement-package-{{ package }}-debconf-present:
  debconf.set:
    - name: {{ package }}
    - data: {{ answers | json }}
    - require:
      - pkg: hastack-placement-package-debconf-utils-installed
    - require_in:
      - pkg: hastack-placement-package-installed
{%- endfor %}

# No secret here: read by /etc/init.d/placement-api (also under systemd).
hastack-placement-package-default-file-managed:
  file.managed:
    - name: {{ placement.default_file }}
    - source: salt://hastack/placement/files/default-placement-api.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        http_socket: {{ placement.http_socket | json }}
        uwsgi_ini: {{ placement.uwsgi_ini | json }}

hastack-placement-package-installed:
  pkg.installed:
    - pkgs: {{ placement.pkgs | json }}
    - require:
      - file: hastack-placement-package-default-file-managed
