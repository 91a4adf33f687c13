# -*- coding: utf-8 -*-
# vim: ft=sls
# nova-compute and the hypervisor flavour package Debian's nova-compute needs
# (compute:hypervisor_pkg; it ships only its own nova-compute.conf, which
# hastack.compute.config replaces).
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

hastack-compute-package-installed:
  pkg.installed:
    - pkgs: {{ hastack.compute.all_pkgs | json }}
