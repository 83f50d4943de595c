"""Request smuggling defences in strict mode (RFC 9112 sections 5.2, 6.1, 6.3, 7.1).

Every malformed request is followed in the same write by a second request for /smuggled;
the proxy must answer 400 (or, for a body error after the head went upstream, close), close
the connection, and the backend must never see /smuggled.
"""

import pytest

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

HEAD_ERRORS = {
    "cl_and_te": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_and_cl": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 5\r\n\r\n0\r\n\r\n",
    "differing_content_lengths": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                 b"Content-Length: 6\r\n\r\nhello!",
    "content_length_list": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
    "content_length_not_a_number": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello",
    "content_length_negative": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello",
    "content_length_plus_sign": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
    "te_chunked_then_identity": b"POST / HTTP/1.1\r\nHost: x\r\n"
                                b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "te_gzip_alone": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "te_identity_alone": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
    "te_two_fields_last_not_chunked": b"POST / HTTP/1.1\r\nHost: x\r\n"
                                      b"Transfer-Encoding: chunked\r\n"
                                      b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
    "te_unknown_value": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"
                        b"0\r\n\r\n",
    "obs_fold": b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n",
    "obs_fold_on_transfer_encoding": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n"
                                     b" chunked\r\n\r\n0\r\n\r\n",
    "space_before_colon": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
                          b"0\r\n\r\n",
    "nul_in_header_value": b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
}

BODY_ERRORS = {
    "chunk_size_not_hex": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk_size_overflow": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"fffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
    "chunk_size_negative": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk_data_longer_than_size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                                   b"\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(HEAD_ERRORS))
def test_malformed_head_gets_400_and_close_and_nothing_forwarded(proxy, name):
    conn = proxy.connect()
    conn.send(HEAD_ERRORS[name] + SMUGGLED)
    resp = conn.read_response(timeout=5)
    assert resp.status == 400, resp
    assert resp.body
    data, closed = conn.read_until_close(5)
    assert data == b"", f"more bytes after the 400: {data[:300]!r}"
    assert closed
    # An upstream connection may have been opened, but not one byte went over it.
    for backend in (proxy.blue, proxy.green):
        assert all(c.raw_len == 0 for c in backend.connections), \
            [bytes(c.raw[:300]) for c in backend.connections]


@pytest.mark.parametrize("name", sorted(BODY_ERRORS))
def test_invalid_chunked_body_gets_400_or_close_and_nothing_smuggled(proxy, name):
    conn = proxy.connect()
    conn.send(BODY_ERRORS[name] + SMUGGLED)
    data, closed = conn.read_until_close(5)
    assert closed, f"connection left open: {data[:300]!r}"
    assert data == b"" or data.startswith(b"HTTP/1.1 400 "), data[:300]
    assert data.count(b"HTTP/1.1 ") <= 1, f"a second response came: {data[:600]!r}"
    assert b"/smuggled" not in data
    seen = [r.target for r in proxy.blue.requests]
    assert "/smuggled" not in seen
    assert not any(r.framing == "chunked" and r.body_len > 0 for r in proxy.blue.requests)
    assert all(b"/smuggled" not in c.raw for c in proxy.blue.connections)
