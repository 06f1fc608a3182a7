# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: demo test venv clean

venv: $(VENV)/installed

$(VENV)/installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

# Ten digit models on the shipped MNIST subset with the tutorial's settings (10x10, 7 levels,
# GRU(256), batch 32, 12 epochs) but Adam's learning rate raised from 0.001 to 0.003 (the "demo"
# recipe): 1,000 images per digit give only 340 updates in 12 epochs. Then a sample grid per digit
# in generated/, and the accuracy on the subset's 1,000 test images.
demo: venv
	$(PY) train_mnist.py --all_digits --recipe demo
	$(PY) generate.py --all_digits --seed 0
	$(PY) classification.py --data mnist-mini

test: venv
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) .pytest_cache
