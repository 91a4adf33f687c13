# Lab pillar: the generated topology and secrets (lab/pillar/generated/<lab>/)
# plus lab tuning, then the override tests set. '*' also covers the master's own
# orchestration minion.
base:
  '*':
    - topology
    - secrets
    - lab
    - override
