# -*- coding: utf-8 -*-
# vim: ft=sls
# garbd: a Galera voter without data, so two db hosts keep quorum.
include:
  - .package
  - .config
  - .service
