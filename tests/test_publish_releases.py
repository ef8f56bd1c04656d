"""Release folder housekeeping of ``site_builder.publish`` on its own (no build)."""
from __future__ import annotations

import os

from site_builder import publish


def _release(root, name):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(name)
    return folder


def test_the_live_release_survives_clean_up_through_a_symlinked_instance_path(db, tmp_path):
    real = tmp_path / "real"
    _release(real / "site-releases", "20260101-000000-1")
    (tmp_path / "link").symlink_to(real)
    site = tmp_path / "link" / "site"
    os.symlink("site-releases/20260101-000000-1", site)
    publish._remove_leftovers(publish.releases_dir(site), keep=publish.live_release(site))
    assert (site / "index.html").read_text() == "20260101-000000-1"


def test_an_adopted_hand_copied_site_is_pruned_before_real_releases(tmp_path):
    releases = tmp_path / "site-releases"
    _release(releases, publish.ADOPTED)
    names = [f"2026010{n}-000000-{n}" for n in range(1, 5)]
    for name in names:
        _release(releases, name)
    publish._prune(releases, keep=3, live=releases / names[-1])
    assert sorted(p.name for p in releases.iterdir()) == names[1:]
