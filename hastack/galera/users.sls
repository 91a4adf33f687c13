# -*- coding: utf-8 -*-
# vim: ft=sls
# Accounts and databases. They replicate, so on every member but the first
# one to run this the states find everything in place and change nothing.
# Root logs in only through the unix socket (Debian's default: root@localhost
# has no usable password), and the states run SQL that way with the mariadb
# client, so no secret is needed for the connection and Salt's Python needs
# no MySQL driver.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}

include:
  - .service

# No anonymous accounts, and root only as root@localhost (socket).
hastack-galera-users-anonymous-absent:
  hastack_galera.accounts_absent:
    - name: anonymous and remote root accounts
    - keep_root: [localhost]
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.service

hastack-galera-users-test-database-absent:
  hastack_galera.database_absent:
    - name: test
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.service

# State transfers (mariabackup) log in as this account on the donor.
hastack-galera-users-sst-user-present:
  hastack_galera.user_present:
    - name: {{ hastack.galera.sst_user }}
    - host: localhost
    - password: {{ hastack.secrets.get("galera_sst", "") | json }}
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.service

hastack-galera-users-sst-user-grants-present:
  hastack_galera.grants_present:
    - user: {{ hastack.galera.sst_user }}
    - host: localhost
    - database: '*.*'
    - privileges: [RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR]
    - socket: {{ hastack.galera.socket }}
    - require:
      - hastack_galera: hastack-galera-users-sst-user-present

# The health endpoint's account: unix socket only, no privileges needed.
hastack-galera-users-health-user-present:
  hastack_galera.user_present:
    - name: {{ hastack.galera.health.user }}
    - host: localhost
    - unix_socket: True
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.service
{%- for database in hastack.galera.databases %}

hastack-galera-users-database-{{ database }}-present:
  hastack_galera.database_present:
    - name: {{ database }}
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.service
{%- endfor %}
{%- for user, secret in hastack.galera.db_users.items() %}

# Granted from the stack network only ({{ hastack.network.cidr }}).
hastack-galera-users-{{ user }}-present:
  hastack_galera.user_present:
    - name: {{ user }}
    - host: {{ hastack.galera.grant_host | json }}
    - password: {{ hastack.secrets.get(secret, "") | json }}
    - socket: {{ hastack.galera.socket }}
    - require:
      - sls: hastack.galera.service
{%- endfor %}
{%- for database, spec in hastack.galera.databases.items() %}

hastack-galera-users-{{ spec.user }}-{{ database }}-grants-present:
  hastack_galera.grants_present:
    - user: {{ spec.user }}
    - host: {{ hastack.galera.grant_host | json }}
    - database: {{ database }}.*
    - privileges: [ALL PRIVILEGES]
    - socket: {{ hastack.galera.socket }}
    - require:
      - hastack_galera: hastack-galera-users-{{ spec.user }}-present
      - hastack_galera: hastack-galera-users-database-{{ database }}-present
{%- endfor %}
