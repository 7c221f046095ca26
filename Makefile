# Two commands: `make run` (set up everything, then start the web app) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MILLION := $(VENV)/bin/million
STAMP  := .stamps
DATA   ?= data
CUSTOMERS ?= 20000
MONTHS ?= 24
SEED   ?= 42
FORMAT ?= xlsx
HOST   ?= 127.0.0.1
PORT   ?= 7860

GEN_ARGS := --customers $(CUSTOMERS) --months $(MONTHS) --seed $(SEED) --format $(FORMAT) --out $(DATA)
# Re-run a step when its parameters change, not only when its code does.
$(shell mkdir -p $(STAMP); echo '$(GEN_ARGS)' | cmp -s - $(STAMP)/gen-args || echo '$(GEN_ARGS)' > $(STAMP)/gen-args)
$(shell echo '$(DB_URL)' | cmp -s - $(STAMP)/db-url || echo '$(DB_URL)' > $(STAMP)/db-url)

.PHONY: run test data artifacts bench lint lock clean venv

run: artifacts
	@$(MILLION) serve --host $(HOST) --port $(PORT)

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements.lock scripts/bootstrap.sh
	@bash scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $@

data: $(STAMP)/loaded
$(STAMP)/generated: $(VENV)/.installed $(STAMP)/gen-args $(wildcard million/datagen/*.py) commands/generate.py
	@echo "==> 生成模拟数据 / generating mock data ($(GEN_ARGS))"
	@$(MILLION) generate $(GEN_ARGS)
	@touch $@
$(STAMP)/loaded: $(STAMP)/generated $(STAMP)/db-url $(wildcard million/ingest/*.py million/warehouse/*.py million/contract.py) commands/load.py
	@echo "==> 导入数据仓库 / loading the warehouse"
	@$(MILLION) load --data $(DATA)
	@touch $@

artifacts: data
	@echo "==> 训练模型与分析产物 / building artifacts (cached when unchanged)"
	@$(MILLION) build --data $(DATA)

# The spark test group needs the spark extra (pyspark, the HiveServer2 client): installed for tests only,
# from requirements-spark.lock; Java comes from Debian when missing (tests/support/spark_server.py).
$(VENV)/.spark-installed: $(VENV)/.installed requirements-spark.lock
	@echo "==> 安装测试用的 Spark 可选依赖 / installing the spark extra for the tests"
	@LOCK=requirements-spark.lock bash scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $@

test: $(VENV)/.installed $(VENV)/.spark-installed
	@$(PY) -m pytest

# from the checkout (python -m): the MySQL part starts its server with the tests' helper (tests/support)
bench: artifacts
	@$(PY) -m commands bench

lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .

# Re-resolve requirements.lock after changing the ranges in pyproject.toml (then commit both).
lock: $(VENV)/.installed
	@bash scripts/lock.sh

clean:
	rm -rf $(STAMP) $(DATA)/*.xlsx $(DATA)/*.csv $(DATA)/*.parquet $(DATA)/*.duckdb $(DATA)/.scoped artifacts/*
