# -*- coding: utf-8 -*-
# vim: ft=sls
# The Debian packages. Their debconf answers are set first: the postinst then
# configures no database, creates no admin and registers no endpoint (db_sync
# and bootstrap run once, from orch.keystone.deploy, on one host). The init
# script's settings come before the package too: its postinst starts keystone,
# and that start then binds the stack IP only, never the VIP's port on every
# address. Salt's debconf states need debconf-get-selections (debconf-utils).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-keystone-package-debconf-utils-installed:
  pkg.installed:
    - name: {{ hastack.keystone.debconf_pkg }}
    - reload_modules: True

hastack-keystone-package-debconf-present:
  debconf.set:
    - name: {{ hastack.keystone.pkgs[0] }}
    - data: {{ hastack.keystone.debconf | json }}
    - require:
      - pkg: hastack-keystone-package-debconf-utils-installed

# No secret here: read by /etc/init.d/keystone (also under systemd, whose
# keystone.service runs `/etc/init.d/keystone systemd-start`).
hastack-keystone-package-default-file-managed:
  file.managed:
    - name: {{ hastack.keystone.default_file }}
    - source: salt://hastack/keystone/files/default-keystone.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        http_socket: {{ hastack.keystone.http_socket | json }}
        uwsgi_ini: {{ hastack.keystone.uwsgi_ini | json }}

hastack-keystone-package-installed:
  pkg.installed:
    - pkgs: {{ hastack.keystone.pkgs | json }}
    - require:
      - debconf: hastack-keystone-package-debconf-present
      - file: hastack-keystone-package-default-file-managed
