"""Print the ``wsk`` commands that deploy the demo workflow on OpenWhisk:
one action per size variant of every step (memory limit = the size's
memory; its CPU as an annotation), and the conductor.

    python examples/openwhisk/deploy.py > deploy.sh && sh deploy.sh
"""

from pathlib import Path

from janus.examples.demo_workflow import workflow
from janus.openwhisk import wsk_commands, wsk_script

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    step_file = str(HERE / "step.py")
    cmds = wsk_commands(
        workflow,
        step_files={s: step_file for s in workflow.stages},
        conductor_name="demo",
        conductor_file=str(HERE / "conductor.py"),
        package="janus-demo",
        timeout_ms=60_000,
    )
    print(wsk_script(cmds), end="")
