"""What the tests share: the servers they start (PostgreSQL, Redis, Dovecot, SMTP, the app
itself), fakes of the providers' APIs, and builders that drive the app over HTTP as a
client would. Test modules import from here, never from each other or from a conftest;
conftest.py files hold fixtures only."""
