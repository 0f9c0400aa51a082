"""What many test files need: a clock moved by hand, a free loopback port, an OZmap outage,
settings for a test, the composed bot (:mod:`tests.support.bot`), the OZmap fixture files."""
