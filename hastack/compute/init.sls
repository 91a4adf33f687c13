# -*- coding: utf-8 -*-
# vim: ft=sls
# nova-compute on a compute host, with the virt driver of hastack:compute:driver.
# The scheduler maps a new compute host to cell1 by itself
# (nova:discover_hosts_interval).
include:
  - .package
  - .config
  - .service
