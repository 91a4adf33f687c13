"""A failed deploy must name what failed on the minion, not only "Run failed on minions"."""

from hastack_lab.lab import failure_text, summarize_orchestration


def orch_return(steps):
    return {"data": {"master_master": steps}}


def test_failed_salt_state_step_lists_each_failed_state_of_the_minion():
    raw = orch_return({
        "salt_|-hastack-deploy-nova-ctl1-applied_|-x_|-state": {
            "__id__": "hastack-deploy-nova-ctl1-applied", "__run_num__": 1, "result": False,
            "comment": "Run failed on minions: ctl1",
            "changes": {"ret": {"ctl1": {
                "file_|-hastack-nova-config_|-/etc/nova/nova.conf_|-managed": {
                    "__id__": "hastack-nova-config", "result": True, "comment": "ok",
                    "changes": {"diff": "..."}},
                "service_|-hastack-nova-api-running_|-nova-api_|-running": {
                    "__id__": "hastack-nova-api-running", "result": False,
                    "comment": "Service nova-api failed to start", "changes": {}},
            }}},
        },
        "salt_|-hastack-deploy-nova-ctl0-drained_|-x_|-function": {
            "__id__": "hastack-deploy-nova-ctl0-drained", "__run_num__": 0, "result": True,
            "comment": "ok", "changes": {}},
    })
    summary = summarize_orchestration(raw)
    assert summary["ok"] is False
    assert [s["id"] for s in summary["steps"]] == [
        "hastack-deploy-nova-ctl0-drained", "hastack-deploy-nova-ctl1-applied"]
    assert summary["steps"][1]["changes"] == 1
    assert summary["errors"] == [
        "hastack-deploy-nova-ctl1-applied: Run failed on minions: ctl1\n"
        "  ctl1: hastack-nova-api-running: Service nova-api failed to start"]


def test_failed_salt_function_step_keeps_the_minion_error_text():
    raw = orch_return({
        "salt_|-hastack-deploy-nova-ctl1-up_|-x_|-function": {
            "__id__": "hastack-deploy-nova-ctl1-up", "__run_num__": 0, "result": False,
            "comment": "Running function failed",
            "changes": {"ret": {"ctl1": "ERROR: nova never came UP"}}},
    })
    summary = summarize_orchestration(raw)
    assert summary["errors"] == [
        "hastack-deploy-nova-ctl1-up: Running function failed\n  ctl1: ERROR: nova never came UP"]


def test_successful_orchestration_has_no_errors():
    raw = orch_return({"salt_|-a_|-x_|-function": {
        "__id__": "a", "__run_num__": 0, "result": True, "comment": "", "changes": {}}})
    assert summarize_orchestration(raw)["ok"] is True


def test_a_state_exception_shows_its_last_lines_not_the_first():
    comment = ("An exception occurred in this state: Traceback (most recent call last):\n"
               + "".join(f'  File "/x/salt/state.py", line {n}, in call\n    ret = f()\n' for n in range(40))
               + "TimeoutError: timed out\n")
    text = failure_text(comment)
    assert text.startswith("exception: ") and text.endswith("TimeoutError: timed out"), text
    assert failure_text("x" * 700).endswith("...") and len(failure_text("x" * 700)) == 603


def test_a_failed_command_shows_its_exit_code_and_last_error_lines():
    raw = orch_return({"salt_|-step_|-x_|-state": {
        "__id__": "step", "__run_num__": 0, "result": False, "comment": "Run failed on minions: ctl1",
        "changes": {"ret": {"ctl1": {"cmd_|-compress_|-manage.py compress_|-run": {
            "__id__": "compress", "result": False, 'comment': 'Command "manage.py compress" run',
            "changes": {"retcode": 1, "stdout": "", "stderr": "Traceback\n  File x\nOSError: disk full\n"}}}}}}})
    assert summarize_orchestration(raw)["errors"] == [
        'step: Run failed on minions: ctl1\n  ctl1: compress: Command "manage.py compress" run '
        "(exit 1: Traceback | File x | OSError: disk full)"]
