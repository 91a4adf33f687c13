# -*- coding: utf-8 -*-
# vim: ft=sls
# The Debian packages. Their debconf answers are set first: the postinsts
# then configure no database (so they run no db sync and make no cell),
# write no RabbitMQ, keystone, neutron or placement settings and register no
# endpoint. The uwsgi services' init-script settings come before the
# packages too: the postinst starts them, and they then bind the stack IP
# only, never the VIP's ports on every address.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set nova = hastack.nova %}

hastack-nova-package-debconf-utils-installed:
  pkg.installed:
    - name: {{ nova.debconf_pkg }}
    - reload_modules: True
{%- for package, answers in nova.debconf | dictsort %}

hastack-nova-package-{{ package }}-debconf-present:
  debconf.set:
    - name: {{ package }}
    - data: {{ answers | json }}
    - require:
      - pkg: hastack-nova-package-debconf-utils-installed
    - require_in:
      - pkg: hastack-nova-package-installed
{%- endfor %}
{%- for name, service in nova.uwsgi_services | dictsort %}

# No secret here: read by /etc/init.d/{{ name }} (also under systemd).
hastack-nova-package-{{ name }}-default-file-managed:
  file.managed:
    - name: {{ service.default_file }}
    - source: salt://hastack/nova/files/default-uwsgi.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        service: {{ name | json }}
        http_socket: {{ nova.http_sockets[name] | json }}
        uwsgi_ini: {{ service.ini | json }}
    - require_in:
      - pkg: hastack-nova-package-installed
{%- endfor %}

hastack-nova-package-installed:
  pkg.installed:
    - pkgs: {{ nova.pkgs | json }}
