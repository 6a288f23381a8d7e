"""The lab's ZVM simulator: an HTTPS server that speaks the ZVM REST API (as the vendored
OpenAPI document of ZVM Appliance 10.0 U6 describes it) and acts on its site's vcsim.

Run it as ``python -m vmrepl.lab.zvm ...`` (see ``__main__.py``) or in-process with
:class:`ZvmSimulator`.
"""

from vmrepl.lab.zvm.config import SimulatorConfig, VCenterConfig
from vmrepl.lab.zvm.runner import ZvmSimulator

__all__ = ["SimulatorConfig", "VCenterConfig", "ZvmSimulator"]
