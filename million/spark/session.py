"""A SparkSession for the batch job, configured from settings (SPARK_MASTER: local[N] or yarn)."""

from __future__ import annotations

from typing import Any

from million.settings import Settings


def spark_session(settings: Settings, *, app_name: str = "million-batch", hive: bool = False,
                  extra: dict[str, str] | None = None) -> Any:
    """`hive=True` reads and writes tables through the cluster's Hive metastore (hive-site.xml on the
    classpath, as spark-submit on a gateway node has it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("需要可选依赖 spark：pip install -e '.[spark]'（并安装 Java 17+）") from e
    b = (SparkSession.builder.appName(app_name).master(settings.spark_master)
         .config("spark.driver.memory", settings.spark_driver_memory)
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
         .config("spark.ui.enabled", "false" if settings.spark_master.startswith("local") else "true")
         .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
         .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC"))
    for k, v in (extra or {}).items():
        b = b.config(k, v)
    if hive:
        b = b.enableHiveSupport()
    return b.getOrCreate()
