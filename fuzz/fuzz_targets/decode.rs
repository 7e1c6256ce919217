//! Content decoders (gzip, deflate, br and stacks of them) fed in pieces: never a panic.
#![no_main]
use _pycurl::engine::decode::Decoder;
use libfuzzer_sys::fuzz_target;

const STACKS: [&str; 8] =
    ["gzip", "deflate", "br", "gzip, gzip", "deflate, br", "br, gzip", "x-gzip, identity", "gzip, deflate, br"];
/// Stop once this much came out: a bomb is not a bug of the decoder.
const OUT_LIMIT: usize = 8 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(Some(mut d)) = Decoder::for_encoding(STACKS[sel as usize % STACKS.len()]) else { return };
    // The high bits of the selector choose how the body is cut into reads.
    let piece = 1 + (sel as usize >> 3) * 37;
    let mut out = 0;
    for chunk in rest.chunks(piece) {
        match d.feed(chunk) {
            Ok(v) => out += v.len(),
            Err(_) => return,
        }
        if out > OUT_LIMIT {
            return;
        }
    }
    let _ = d.finish();
});
