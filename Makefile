# Entry points; the scripts in scripts/ do the work. See README.rst.
# screenshots: the admin tour photographs the screens shown in the README.
.PHONY: screenshots setup test demo sandbox sandbox-reset lint pot bench bench-import bench-webhook clean

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

sandbox:
	bash scripts/sandbox.sh serve

sandbox-reset:
	bash scripts/sandbox.sh reset

lint:
	bash scripts/lint.sh

pot:
	bash scripts/pot.sh

bench:
	bash scripts/bench.sh export

bench-import:
	bash scripts/bench.sh import

bench-webhook:
	bash scripts/bench.sh webhook

clean:
	rm -rf .build

screenshots:
	BASWARE_SCREENSHOTS_DIR=$(CURDIR)/static/description bash scripts/test.sh -k TestAdminTour
