.PHONY: quickstart test build setup
# Installs what is missing and runs the quick-start workflow.
quickstart:
	bash scripts/quickstart.sh
# Installs what is missing and runs every test and cross-check.
test:
	bash scripts/test.sh
build:
	swift build -c release
setup:
	bash scripts/setup.sh
