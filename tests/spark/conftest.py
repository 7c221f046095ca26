"""The spark test group: a real Spark Thrift Server (HiveServer2) started from the pyspark wheel and a
local SparkSession, each once per test session (tests/support/spark_server.py). Every test here carries
the `spark` marker; without Java or pyspark (and no way to install them) they are skipped with the reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import spark_server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def thrift_server():
    try:
        server = spark_server.start()
    except spark_server.Unavailable as e:
        pytest.skip(f"Spark Thrift Server 不可用：{e}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hive_url(thrift_server, small_data: Path) -> str:
    """The small data set loaded into the Thrift server through the backend's own load path
    (staging tables, then renamed in); the analyst URL, opened read-only by the tests."""
    from million.ingest.load import load_folder
    from million.warehouse import connect

    t0 = time.perf_counter()
    with connect(thrift_server.url("loader"), read_only=False) as admin:
        load_folder(small_data, admin, log=lambda _m: None)
    thrift_server.load_s = time.perf_counter() - t0  # type: ignore[attr-defined]
    return thrift_server.url("analyst")


@pytest.fixture(scope="session")
def spark():
    """A local SparkSession (local[2]) for the batch functions."""
    try:
        spark_server.ensure_java()
        spark_server.spark_home()
    except spark_server.Unavailable as e:
        pytest.skip(f"Spark 不可用：{e}")
    import os

    from million.settings import Settings
    from million.spark.session import spark_session

    os.environ.update({k: v for k, v in spark_server.spark_env().items()
                       if k in {"SPARK_HOME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_LOCAL_IP"}})
    session = spark_session(Settings(spark_master="local[2]", spark_driver_memory="1g", spark_shuffle_partitions=4),
                            app_name="million-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_build(spark, small_wh_url: str, small_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """`build --engine spark` once, every step, on a copy of the small warehouse (the one `built_artifacts`
    was built from locally): (the copy's DB URL, the artifacts folder, the build's summary rows)."""
    import shutil

    from million.pipeline import BuildContext
    from million.propensity import step as propensity_step
    from million.settings import Settings
    from million.spark.build import build_on_spark

    class Rows(list):
        driver_scored: list[int]

    run = tmp_path_factory.mktemp("spark-build")
    db = run / "warehouse.duckdb"
    shutil.copyfile(small_wh_url.removeprefix("duckdb:///"), db)
    ctx = BuildContext(db_url=f"duckdb:///{db}", artifacts_dir=run / "artifacts", data_dir=small_data)
    real, called = propensity_step.score_features, []

    def counted(bundle, features):  # noqa: ANN001, ANN202 - score_features' signature
        called.append(len(features))
        return real(bundle, features)

    propensity_step.score_features = counted  # does the propensity step still score on the driver?
    t0 = time.perf_counter()
    try:
        rows = Rows(build_on_spark(ctx, Settings(spark_buckets=5), spark, log=lambda _m: None))
    finally:
        propensity_step.score_features = real
    rows.driver_scored = called
    print(f"\nspark build (every step): {time.perf_counter() - t0:.1f} s; "
          + ", ".join(f"{r['step']} {r['seconds']}" for r in rows))
    return f"duckdb:///{db}", run / "artifacts", rows
