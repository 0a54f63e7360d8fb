from tests.adversarial.serving import serve  # noqa: F401 - the fixture
