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
    for chunk in rest.chunks(piece) {
        d.push(chunk);
        // Decoded output comes out in bounded pieces; take all that the input so far gives.
        loop {
            match d.pull() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
            if d.total_out() > OUT_LIMIT as u64 {
                return;
            }
        }
    }
    d.finish();
    while let Ok(Some(_)) = d.pull() {
        if d.total_out() > OUT_LIMIT as u64 {
            return;
        }
    }
});
