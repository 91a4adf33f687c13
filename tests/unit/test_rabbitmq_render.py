"""What map.jinja derives for RabbitMQ: node names, join order, the oslo transport_url."""

from test_map_render import CONVERGED, SPLIT, render, repo_root_module  # noqa: F401  (fixtures)

PASSWORD = "p@ss/word:with+odd chars"


def test_converged_layout_lists_every_broker(render):
    mapdata = render({"hastack": dict(CONVERGED, secrets={"rabbit_openstack": PASSWORD})}, minion_id="ctl2")
    rabbit = mapdata["rabbitmq"]
    assert rabbit["node"] == "rabbit@ctl2"
    assert rabbit["cluster_nodes"] == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]
    assert rabbit["deploy_order"] == ["ctl1", "ctl2", "ctl3"]
    quoted = "p%40ss%2Fword%3Awith%2Bodd%20chars"
    assert rabbit["transport_url"] == (
        f"rabbit://openstack:{quoted}@ctl1:5672,openstack:{quoted}@ctl2:5672,"
        f"openstack:{quoted}@ctl3:5672/openstack")
    assert rabbit["oslo"]["rabbit_quorum_queue"] is True
    assert rabbit["enabled_plugins"] == "[]."


def test_split_layout_and_management_switch(render):
    pillar = {"hastack": dict(SPLIT, secrets={"rabbit_openstack": "x" * 20},
                              rabbitmq={"management": {"enabled": True}})}
    rabbit = render(pillar, minion_id="api3")["rabbitmq"]
    assert rabbit["deploy_order"] == ["api1", "api2", "api3"]
    assert rabbit["transport_url"].count("@api") == 3
    assert rabbit["enabled_plugins"] == "[rabbitmq_management]."
