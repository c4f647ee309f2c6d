# The book's two commands:  `make book`  (set up, run every chapter, build the website)
#                           `make test`  (set up, run every test)
# Everything installs into .venv; Graphviz and Chromium come from the system's packages.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
COLAB_VENV  := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed

.PHONY: setup book test test-colab sync check bench clean help system-packages

help:
	@echo "make book   set up, execute every chapter and build the website in _build/html"
	@echo "make test   set up and run every test (unit, doctests, notebook hygiene, every chapter, website)"
	@echo "make test-colab  run every chapter on Colab's package versions, as Colab would"
	@echo "make bench  execute every chapter and print the seconds each takes"
	@echo "make sync   rewrite each chapter's Colab setup cell from _config.yml, strip outputs"

setup: $(STAMP) system-packages

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed"' \
		|| { echo "Python 3.10+ is needed; run make with PYTHON=python3.11 (or newer)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (PyTorch book)" >/dev/null
	@# `import utils` works from any chapter run in this environment (Jupyter, nbval, the book
	@# build), and MathJax is copied from its package so the website typesets math offline.
	site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
		echo "$(CURDIR)" > "$$site/pytorch_book.pth" && \
		rm -rf _assets/mathjax && mkdir -p _assets && \
		cp -r "$$site/mathjax/static/mathjax/es5" _assets/mathjax
	touch $(STAMP)

# Graphviz draws the autograd graphs (torchviz); Chromium runs the website test.
system-packages:
	@missing=""; command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing system packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "Missing system packages:$$missing"; \
			echo "Install them and run make again, e.g. 'sudo apt-get install$$missing' (Debian/Ubuntu)"; \
			echo "or 'brew install graphviz chromium' (macOS)."; \
			exit 1; \
		fi; \
	fi

book: setup
	BOOK_PROGRESS=last $(VENV)/bin/jupyter-book build . --builder html
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"

# Chapters run under nbval; their executed outputs fill the book's execution cache, so the
# website test (run last) builds the book without executing every chapter a second time.
test: setup
	BOOK_PROGRESS=last $(PY) -m pytest tests utils chapters --doctest-modules --nbval-lax \
		--nbval-current-env --nbval-cell-timeout=300 --cache-executed -p no:cacheprovider

# Colab's package versions (requirements-colab.txt) in a second environment; pip's cache
# (~/.cache/pip) keeps a second setup from downloading again.
$(COLAB_STAMP): requirements-colab.txt
	test -x $(COLAB_VENV)/bin/python || $(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet -r requirements-colab.txt
	touch $(COLAB_STAMP)

test-colab: setup $(COLAB_STAMP)
	$(PY) -m utils.colab --python $(COLAB_VENV)/bin/python

bench: setup
	$(PY) -m utils.book bench

sync: $(STAMP)
	$(PY) -m utils.book sync

check: $(STAMP)
	$(PY) -m utils.book check

clean:
	rm -rf _build
