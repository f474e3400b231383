"""The Dask job backend: a job submitted through ``backtorun.batch.dask_submit`` to a local cluster runs to the
same database rows (status, progress, result) as with the in-process pool."""

from __future__ import annotations

import time

import distributed
from fastapi.testclient import TestClient

from backtorun.web import WebSettings, create_app
from tests.web.conftest import FAKE_PIPELINE, login, seed_two_clinics, start_side_analysis


def test_jobs_run_on_a_dask_cluster(tmp_path, tiny_video) -> None:
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        settings = WebSettings(data_dir=tmp_path / "d", pipeline=FAKE_PIPELINE, jobs_backend="dask",
                               dask_scheduler=cluster.scheduler_address)
        seed_two_clinics(settings.resolved_database_url())
        with TestClient(create_app(settings)) as c:
            tok = login(c, "a@clinic.test")
            _, eid = start_side_analysis(c, tok, tiny_video, patient_name="Dask Patient")
            deadline = time.monotonic() + 120
            while (st := c.get(f"/evaluations/{eid}/status").json())["status"] not in ("done", "failed"):
                assert time.monotonic() < deadline, st
                time.sleep(0.2)
            assert st["status"] == "done", st
            assert "Test finding" in c.get(f"/evaluations/{eid}/report").text
