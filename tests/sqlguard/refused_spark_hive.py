"""Statements the SQL guard must refuse in the Spark and Hive dialects, with the reason a reader of the
table (docs, README) should see. Shared by the guard unit test and the spark test group, which sends each
one through the tool path to a real Spark Thrift Server."""

from __future__ import annotations

# (what it would do, dialect, statement)
REFUSED: list[tuple[str, str, str]] = [
    ("change a session setting", "spark", "SET spark.sql.ansi.enabled=false"),
    ("change a Hive setting", "hive", "SET hive.exec.dynamic.partition.mode=nonstrict"),
    ("read a parquet file by path", "spark", "SELECT * FROM parquet.`/etc/passwd`"),
    ("read a csv file by path", "spark", "SELECT * FROM csv.`file:///etc/passwd`"),
    ("read a json file on HDFS", "spark", "SELECT * FROM json.`hdfs://nn:8020/user/hive/x`"),
    ("read a bare path", "spark", "SELECT * FROM `/etc/passwd`"),
    ("call Java by reflection", "spark", "SELECT reflect('java.lang.Runtime', 'getRuntime')"),
    ("call Java by reflection (java_method)", "hive", "SELECT java_method('java.lang.System', 'getenv', 'HOME')"),
    ("call Java by reflection (try_reflect)", "spark", "SELECT try_reflect('java.lang.System', 'getenv', 'HOME')"),
    ("add a jar to the server", "spark", "ADD JAR hdfs:///tmp/evil.jar"),
    ("add a jar to HiveServer2", "hive", "ADD JAR /tmp/evil.jar"),
    ("add a file", "hive", "ADD FILE /tmp/x.sh"),
    ("insert rows", "spark", "INSERT INTO customer_base SELECT * FROM customer_base"),
    ("write query results to a directory", "spark", "INSERT OVERWRITE DIRECTORY '/tmp/out' SELECT * FROM customer_base"),
    ("write to the server's local disk", "hive",
     "INSERT OVERWRITE LOCAL DIRECTORY '/tmp/out' SELECT * FROM customer_base"),
    ("create a table", "spark", "CREATE TABLE x AS SELECT * FROM customer_base"),
    ("create a view", "spark", "CREATE TEMPORARY VIEW v AS SELECT * FROM customer_base"),
    ("load a file into a table", "hive", "LOAD DATA LOCAL INPATH '/etc/passwd' INTO TABLE customer_base"),
    ("load a file into a table", "spark", "LOAD DATA INPATH '/tmp/x' OVERWRITE INTO TABLE customer_base"),
    ("create a UDF from a jar", "spark", "CREATE TEMPORARY FUNCTION f AS 'com.evil.Udf' USING JAR 'hdfs:///x.jar'"),
    ("create a permanent UDF", "hive", "CREATE FUNCTION f AS 'com.evil.Udf'"),
    ("run a script on the cluster", "spark",
     "SELECT TRANSFORM(customer_id) USING 'cat /etc/passwd' AS (x) FROM customer_base"),
    ("read the server's environment", "spark", "SELECT '${env:HOME}' AS h"),
    ("read a Hive setting", "hive", "SELECT '${hiveconf:javax.jdo.option.ConnectionPassword}' AS p"),
    ("name a table from a string", "spark", "SELECT * FROM IDENTIFIER('customer_base')"),
    ("read a table function", "spark", "SELECT * FROM range(1000000000000)"),
    ("read a file from a UDF", "hive", "SELECT in_file('x', '/etc/passwd')"),
    ("cache a table in memory", "spark", "CACHE TABLE customer_base"),
    ("repair partitions", "hive", "MSCK REPAIR TABLE customer_base"),
    ("run dynamic SQL", "spark", "EXECUTE IMMEDIATE 'DROP TABLE customer_base'"),
    ("drop a table", "spark", "DROP TABLE customer_base"),
    ("two statements", "spark", "SELECT 1 AS a; DROP TABLE customer_base"),
    ("another database", "spark", "SELECT * FROM default.customer_base"),
    ("another catalog", "spark", "SELECT * FROM spark_catalog.default.customer_base"),
    ("switch database", "hive", "USE other_db"),
    ("describe a table", "spark", "DESCRIBE customer_base"),
    ("list tables", "hive", "SHOW TABLES"),
]
