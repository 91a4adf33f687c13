# -*- coding: utf-8 -*-
# vim: ft=sls
# The fernet token and credential key repositories. Every key is derived from
# the pillar secret keystone_fernet_seed and the repository's generation
# (hastack.key_repository), so every api host writes the same files and a
# re-apply changes nothing; keystone-manage fernet_setup/fernet_rotate never
# run. Keys 0600 keystone, directories 0700 keystone; a key file the
# generation no longer holds is removed (clean). keystone reads its keys at
# every token operation, so a new key needs no restart.
{%- from "hastack/map.jinja" import mapdata as hastack with context %}
{%- set keystone = hastack.keystone %}

include:
  - .package
{%- for repo, spec in keystone.key_repositories | dictsort %}
{%-   for name in spec.files %}

hastack-keystone-keys-{{ repo }}-{{ name }}-file-managed:
  file.managed:
    - name: {{ spec.path }}/{{ name }}
    - contents: {{ hastack.keystone_secrets["keys"][repo][name] | json }}
    - contents_newline: False
    - makedirs: True
    - dir_mode: '0700'
    - user: {{ keystone.user }}
    - group: {{ keystone.group }}
    - mode: '0600'
    - show_changes: False
    - require:
      - sls: hastack.keystone.package
{%-   endfor %}

hastack-keystone-keys-{{ repo }}-directory-managed:
  file.directory:
    - name: {{ spec.path }}
    - user: {{ keystone.user }}
    - group: {{ keystone.group }}
    - mode: '0700'
    # Only the keys of this generation stay.
    - clean: True
    - require:
{%-   for name in spec.files %}
      - file: hastack-keystone-keys-{{ repo }}-{{ name }}-file-managed
{%-   endfor %}
{%- endfor %}
