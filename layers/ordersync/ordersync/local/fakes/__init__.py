"""Fake stores: real HTTP servers on 127.0.0.1 that speak each platform's protocol, with a
control surface for tests (seed orders and products, page, throttle, fail, time out)."""
