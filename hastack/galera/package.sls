# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-galera-package-installed:
  pkg.installed:
    - pkgs: {{ hastack.galera.pkgs | json }}
