# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-memcached-package-installed:
  pkg.installed:
    - name: {{ hastack.memcached.pkg }}
