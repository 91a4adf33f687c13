# -*- coding: utf-8 -*-
# vim: ft=sls
# local_settings.py (no secret), the secret key in its own file (0640
# root:<the WSGI processes' group>, its diff never shown), Debian's settings
# snippets that would override the formula's (the per-process cache) gone,
# the webroot, and Apache listening on the stack IP only with the dashboard
# as its only site.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set horizon = hastack.horizon %}

include:
  - .package

hastack-horizon-config-file-managed:
  file.managed:
    - name: {{ horizon.config }}
    - source: salt://hastack/horizon/files/local_settings.py.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        horizon: {{ horizon | json }}
    - require:
      - sls: hastack.horizon.package

hastack-horizon-config-secret-key-file-managed:
  file.managed:
    - name: {{ horizon.secret_key_file }}
    - contents: {{ hastack.horizon_secrets.secret_key | json }}
    - contents_newline: False
    - user: root
    - group: {{ horizon.wsgi_group }}
    - mode: '0640'
    - show_changes: False
    - require:
      - sls: hastack.horizon.package

hastack-horizon-config-debian-overrides-absent:
  file.absent:
    - names:
{%- for name in horizon.debian_overrides %}
      - {{ horizon.settings_dir }}/{{ name }}
{%- endfor %}
    - require:
      - sls: hastack.horizon.package

# Debian's snippet, loaded after local_settings.py: it holds the webroot.
hastack-horizon-config-webroot-file-managed:
  file.managed:
    - name: {{ horizon.webroot_file }}
    - source: salt://hastack/horizon/files/webroot.py.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        webroot: {{ horizon.webroot | json }}
    - require:
      - sls: hastack.horizon.package

# The compressed static files name the webroot: a new one needs them built
# again (what the package does when its own postinst changes the webroot).
hastack-horizon-config-static-files-managed:
  cmd.run:
    - name: {{ horizon.manage }} collectstatic --noinput --clear && {{ horizon.manage }} compress --force
    - runas: {{ horizon.wsgi_user }}
    # Both commands rebuild the files from scratch, so a second try is safe; a
    # first deploy on a loaded machine once saw this fail on one host.
    - retry:
        attempts: 2
        interval: 5
    - onchanges:
      - file: hastack-horizon-config-webroot-file-managed
    - require:
      - file: hastack-horizon-config-file-managed
      - file: hastack-horizon-config-secret-key-file-managed
      - file: hastack-horizon-config-debian-overrides-absent

hastack-horizon-config-log-directory-managed:
  file.directory:
    - name: {{ horizon.log_dir }}
    - user: root
    - group: adm
    - mode: '0750'
    - require:
      - sls: hastack.horizon.package

# Apache listens on the stack IP only: HAProxy binds the VIP's port.
hastack-horizon-config-ports-file-managed:
  file.managed:
    - name: {{ horizon.ports_conf }}
    - source: salt://hastack/horizon/files/ports.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        listen: {{ horizon.listen | json }}
    - require:
      - sls: hastack.horizon.package

hastack-horizon-config-site-file-managed:
  file.managed:
    - name: {{ horizon.site_conf }}
    - source: salt://hastack/horizon/files/openstack-dashboard.conf.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '0644'
    - context:
        horizon: {{ horizon | json }}
        my_ip: {{ hastack.my_ip | json }}
    - require:
      - sls: hastack.horizon.package

hastack-horizon-config-site-present:
  # What a2ensite does (Salt 3008 ships no apache_site states).
  file.symlink:
    - name: {{ horizon.site_link }}
    - target: ../sites-available/{{ horizon.site }}.conf
    - require:
      - file: hastack-horizon-config-site-file-managed
{%- for site in horizon.disabled_sites %}

hastack-horizon-config-{{ site }}-site-absent:
  file.absent:
    - name: {{ horizon.sites_enabled_dir }}/{{ site }}.conf
    - require:
      - sls: hastack.horizon.package
{%- endfor %}
