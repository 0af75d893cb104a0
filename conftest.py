# The console's test fixtures (users, organizations, bills, the browser), for every app's
# tests: bills/tests/fixtures.py.
pytest_plugins = ["bills.tests.fixtures"]
