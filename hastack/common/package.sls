# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-common-package-installed:
  pkg.installed:
    - pkgs: {{ hastack.common.pkgs | json }}
