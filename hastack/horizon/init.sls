# -*- coding: utf-8 -*-
# vim: ft=sls
# The dashboard on a dashboard host: Apache with mod_wsgi on the stack IP,
# sessions in memcached.
include:
  - .package
  - .config
  - .service
