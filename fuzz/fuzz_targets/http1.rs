//! The HTTP/1 response codec (engine::http1): a response head, then its body framed as the head
//! says (Content-Length, chunked with trailers, or up to the end). Never a panic, and a body fed
//! in small pieces decodes to what the whole input gives.
#![no_main]
use _pycurl::engine::http1::body::{decode_all, framing, BodyDecoder, BodyEvent};
use _pycurl::engine::http1::head::parse_head;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else { return };
    let step = usize::from(step % 16) + 1;
    let Ok(Some((head, lines, used))) = parse_head(input, true) else { return };
    assert!(used <= input.len());
    assert!(!lines.is_empty());
    let chunked = head.has_token("transfer-encoding", "chunked");
    let f = framing(head.status, head.version, false, chunked, head.content_length);
    let rest = &input[used..];
    let whole = decode_all(f, rest);
    // The same body arriving `step` bytes at a time, unread bytes kept as a socket buffer keeps them.
    let mut d = BodyDecoder::new(f);
    let (mut buf, mut body, mut trailers, mut fed) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let pieces = loop {
        match d.decode(&buf, 7) {
            Err(e) => break Err(e),
            Ok((n, Some(BodyEvent::Data(r)))) => {
                body.extend_from_slice(&buf[r]);
                buf.drain(..n);
            }
            Ok((n, Some(BodyEvent::Trailer(t)))) => {
                trailers.push(t);
                buf.drain(..n);
            }
            Ok((_, Some(BodyEvent::End))) => break Ok((body, trailers, true)),
            Ok((n, None)) => {
                buf.drain(..n);
                if fed >= rest.len() {
                    break Ok((body, trailers, false));
                }
                let end = (fed + step).min(rest.len());
                buf.extend_from_slice(&rest[fed..end]);
                fed = end;
            }
        }
    };
    if let (Ok(a), Ok(b)) = (&whole, &pieces) {
        assert_eq!(a, b);
    }
});
