"""Other geometries check clean: 4 KiB sectors (4Kn disks, 4 KiB file records), 64 KiB clusters (sectors
per cluster code 0x80 and index blocks smaller than a cluster), clusters smaller than an index block
(512 B, 1 KiB as in ntfsprogs-plus' 1k_cluster image, 2 KiB)."""

from __future__ import annotations

import pytest

from autoverify.checks.ntfs import check_ntfs
from autoverify.readers import open_reader
from checks.conftest import CACHE
from checks.ntfs_volumes import build_on_host, geometry


@pytest.mark.parametrize(("sector", "cluster"), [(512, 65536), (4096, 4096), (4096, 65536), (512, 512), (512, 1024),
                                                 (512, 2048)])
def test_geometry_checks_clean(sector, cluster):
    image = build_on_host(geometry(sector, cluster), CACHE)
    with open_reader(str(image)) as r:
        result = check_ntfs(r)
    assert (result.status, result.findings) == ("clean", ())
    assert result.mft_records > 1500
    assert result.stats["cluster_size"] == cluster
