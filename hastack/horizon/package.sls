# -*- coding: utf-8 -*-
# vim: ft=sls
# The Debian packages, their debconf answers set first (the dashboard as
# Apache's only site, no TLS: HAProxy is the front). The states in
# hastack.horizon.config bring Apache to the same shape whatever the
# postinst did.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set horizon = hastack.horizon %}

hastack-horizon-package-debconf-utils-installed:
  pkg.installed:
    - name: {{ horizon.debconf_pkg }}
    - reload_modules: True
{%- for package, answers in horizon.debconf | dictsort %}

hastack-horizon-package-{{ package }}-debconf-present:
  debconf.set:
    - name: {{ package }}
    - data: {{ answers | json }}
    - require:
      - pkg: hastack-horizon-package-debconf-utils-installed
    - require_in:
      - pkg: hastack-horizon-package-installed
{%- endfor %}

hastack-horizon-package-installed:
  pkg.installed:
    - pkgs: {{ horizon.pkgs | json }}
