"""Where the ``vmrepl`` package finds what it runs, without assuming it runs from a checkout.

- The collection ``vmrepl.core`` (its playbooks, run by their full names): ``$VMREPL_PROJECT_DIR``,
  else the checkout this package was imported from (``src/vmrepl`` of a clone: an editable
  install), else the collection installed on Ansible's collection path (what an execution
  environment has: a wheel of this package and the built collection).
- The runner project's ``project/ansible.cfg``: only a checkout has one.
- The lab's own files (the vcsim sources, the stand-in appliances): package data, beside this
  file, wherever the package is.
- What the lab makes (its state folder, the vcsim build): in the checkout (``.lab``, ``.cache``),
  else under ``$XDG_STATE_HOME`` / ``$XDG_CACHE_HOME``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Names the folder of the collection (a checkout's root, or an installed vmrepl.core).
PROJECT_DIR_ENV = "VMREPL_PROJECT_DIR"
#: This package's folder, and its lab's files (package data).
PACKAGE_DIR = Path(__file__).resolve().parent
LAB_ASSETS = PACKAGE_DIR / "lab" / "assets"
#: The root of the checkout this package is imported from, when it is (``src/vmrepl`` → root);
#: see :func:`checkout` for whether it is one.
CHECKOUT = PACKAGE_DIR.parents[1]
COLLECTION = ("vmrepl", "core")


class ProjectNotFound(RuntimeError):
    """Neither ``$VMREPL_PROJECT_DIR``, a checkout nor an installed collection vmrepl.core."""


def _is_collection(path: Path) -> bool:
    """A folder of the collection: a checkout (galaxy.yml) or an installed one (MANIFEST.json),
    with its playbooks."""
    return ((path / "galaxy.yml").is_file() or (path / "MANIFEST.json").is_file()) and (
        path / "playbooks"
    ).is_dir()


def checkout() -> Path | None:
    """The root of the checkout this package runs from (it has ``galaxy.yml`` and this
    package's ``src/vmrepl``), or None for a package installed from a wheel."""
    if (CHECKOUT / "galaxy.yml").is_file() and (CHECKOUT / "src" / "vmrepl") == PACKAGE_DIR:
        return CHECKOUT
    return None


def collection_search_path() -> list[Path]:
    """Where Ansible looks for installed collections, by default and as
    ``$ANSIBLE_COLLECTIONS_PATH`` sets it (read without importing Ansible), then the Python
    path (``pip install`` of a collection, or ansible's own)."""
    configured = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get(
        "ANSIBLE_COLLECTIONS_PATHS"
    )
    home = os.environ.get("ANSIBLE_HOME") or str(Path.home() / ".ansible")
    default = [str(Path(home) / "collections"), "/usr/share/ansible/collections"]
    entries = configured.split(os.pathsep) if configured else default
    entries += [p for p in sys.path if p]
    return [Path(e).expanduser() for e in entries if e]


def project_dir() -> Path:
    """The folder of the collection vmrepl.core that the ``vmrepl`` command runs (see the
    module's docstring for the order)."""
    explicit = os.environ.get(PROJECT_DIR_ENV)
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not _is_collection(path):
            raise ProjectNotFound(
                f"{PROJECT_DIR_ENV}={explicit} is not the collection vmrepl.core (no galaxy.yml"
                " or MANIFEST.json with playbooks/ there): name a checkout or an installed"
                " collection, or unset it."
            )
        return path
    found = checkout()
    if found is not None:
        return found
    for base in collection_search_path():
        candidate = base.joinpath("ansible_collections", *COLLECTION)
        if _is_collection(candidate):
            return candidate.resolve()
    raise ProjectNotFound(
        "The collection vmrepl.core is not installed: install it (`ansible-galaxy collection"
        " install vmrepl-core-<version>.tar.gz`) or set VMREPL_PROJECT_DIR to a checkout."
    )


def ansible_cfg() -> Path | None:
    """The runner project's ``project/ansible.cfg`` (collections path, roles, the lab's inventory
    plugin, the default inventory), or None where there is none (an installed collection)."""
    path = project_dir() / "project" / "ansible.cfg"
    return path if path.is_file() else None


def playbook_name(playbook: str) -> str:
    """The full name of one of the collection's playbooks: ``deploy_remote.yml`` (the runner
    project's entry point) and ``deploy_remote`` become ``vmrepl.core.deploy_remote``; a full name
    stays as it is."""
    prefix = ".".join(COLLECTION) + "."
    if playbook.startswith(prefix):
        return playbook
    return prefix + playbook.removesuffix(".yml").removesuffix(".yaml")


def playbook_file(playbook: str) -> Path:
    """The file of a playbook of the collection, by its full or short name."""
    short = playbook_name(playbook).rsplit(".", 1)[-1]
    return project_dir() / "playbooks" / f"{short}.yml"


def state_dir(name: str) -> Path:
    """A folder for what the lab makes: ``.<name>`` of the checkout (``.lab``), else
    ``$XDG_STATE_HOME/vmrepl/<name>``."""
    root = checkout()
    if root is not None:
        return root / f".{name}"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "vmrepl" / name


def cache_dir(name: str) -> Path:
    """A folder for what can be made again (the vcsim build): ``.cache/<name>`` of the
    checkout, else ``$XDG_CACHE_HOME/vmrepl/<name>``."""
    root = checkout()
    if root is not None:
        return root / ".cache" / name
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "vmrepl" / name
