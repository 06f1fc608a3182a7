# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: demo test venv clean

venv: $(VENV)/installed

$(VENV)/installed: requirements.txt requirements-test.txt requirements-jax.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt -r requirements-jax.txt
	touch $@

# PyTorch for `make test`'s third backend only: 0.8 GB and half a minute that `make demo` does without.
$(VENV)/installed-torch: $(VENV)/installed requirements-torch.txt
	$(PY) -m pip install --quiet -r requirements-torch.txt
	touch $@

# The whole story in under three minutes on 2 CPU cores: ten digit models trained on the shipped
# MNIST subset in row mode (--recipe demo-fast: 10 steps of 10 pixels, 12 epochs, learning rate
# 0.003) into trained/demo_models, a sample grid per digit, their accuracy on the subset's 1,000
# test images, and the same for the shipped models that the tutorial's command trained on all of MNIST.
demo: venv
	$(PY) train_mnist.py --all_digits --recipe demo-fast
	$(PY) generate.py --all_digits --seed 0 --models_dir trained/demo_models
	$(PY) classification.py --data mnist-mini --models_dir trained/demo_models
	@echo "--- the shipped models (the tutorial's command on all of MNIST), on the same 1,000 test images:"
	$(PY) classification.py --data mnist-mini --report generated/shipped_models_on_mnist_mini.json
	@echo "pictures: generated/samples_of_0.png ... generated/samples_of_9.png (the demo models' samples);"
	@echo "          trained/demo_models/classification.png and generated/shipped_models_on_mnist_mini.png (confusion matrices)"

# The whole suite on the default backend, TensorFlow (tests/test_multihost.py trains its two-process
# job on JAX too), then the tests marked `backend` in tests/conftest.py (model, sampler, scoring,
# training, data-parallel, saving) on JAX, which GPU users run, with two CPU devices for the
# data-parallel check, then on PyTorch (its CPU build; data parallelism is refused there, and the
# check says so). make stops at the first run that fails. On 2 idle AMD EPYC cores (2026-12-02):
# 9.0 minutes for the first run (8.7 before the checks of issue #32), 2.2 for JAX's, 0.5 for PyTorch's.
test: venv $(VENV)/installed-torch
	$(PY) -m pytest -q tests
	KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 $(PY) -m pytest -q -m backend tests
	KERAS_BACKEND=torch $(PY) -m pytest -q -m backend tests

clean:
	rm -rf $(VENV) .pytest_cache
