//! Small helpers over the `der` crate, for the DER that x509-parser hands over undecoded
//! (extension values it does not keep in order, policy qualifiers, other names) and for
//! naming what an encrypted key uses.

use ::der::asn1::{AnyRef, ObjectIdentifier};
use ::der::{Decode, Reader, SliceReader, Tag, Tagged};

/// The TLVs in `bytes`, in order, up to the first malformed one.
pub(super) fn tlvs(bytes: &[u8]) -> Vec<AnyRef<'_>> {
    let mut out = Vec::new();
    let Ok(mut reader) = SliceReader::new(bytes) else {
        return out;
    };
    while !reader.is_finished() {
        match reader.decode::<AnyRef<'_>>() {
            Ok(any) => out.push(any),
            Err(_) => break,
        }
    }
    out
}

/// The first TLV in `bytes` (what follows it is ignored).
pub(super) fn first_tlv(bytes: &[u8]) -> Option<AnyRef<'_>> {
    AnyRef::decode(&mut SliceReader::new(bytes).ok()?).ok()
}

/// The tag byte of a TLV (0x30 for SEQUENCE, 0xa0 for [0] constructed, ...).
pub(super) fn tag_byte(any: &AnyRef<'_>) -> u8 {
    any.tag().into()
}

/// The elements of `any` when it is a SEQUENCE.
pub(super) fn sequence_items(any: AnyRef<'_>) -> Option<Vec<AnyRef<'_>>> {
    (any.tag() == Tag::Sequence).then(|| tlvs(any.value()))
}

/// The elements of the SEQUENCE that starts `bytes`.
pub(super) fn first_sequence(bytes: &[u8]) -> Option<Vec<AnyRef<'_>>> {
    sequence_items(first_tlv(bytes)?)
}

/// Dotted text of an OBJECT IDENTIFIER.
pub(super) fn oid_text(any: &AnyRef<'_>) -> Option<String> {
    any.decode_as::<ObjectIdentifier>().ok().map(|o| o.to_string())
}

/// A non-negative INTEGER that fits in 32 bits.
pub(super) fn small_uint(any: &AnyRef<'_>) -> Option<u32> {
    if any.tag() != Tag::Integer {
        return None;
    }
    any.decode_as::<u32>().ok()
}

/// The DER encoding of a primitive value with a universal tag number (None if not one).
pub(super) fn encode_tlv(tag_number: u32, value: &[u8]) -> Option<Vec<u8>> {
    use ::der::Encode;
    // SEQUENCE and SET are always constructed.
    let byte = u8::try_from(tag_number).ok()? | if matches!(tag_number, 16 | 17) { 0x20 } else { 0 };
    let tag = Tag::try_from(byte).ok()?;
    AnyRef::new(tag, value).ok()?.to_der().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sequences_and_reads_values() {
        // SEQUENCE { OID 1.2.840.113549.1.1.11, INTEGER 5 } followed by a stray byte
        let bytes =
            [0x30, 0x0e, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x02, 0x01, 0x05, 0xff];
        let items = first_sequence(&bytes).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(oid_text(&items[0]).as_deref(), Some("1.2.840.113549.1.1.11"));
        assert_eq!(small_uint(&items[1]), Some(5));
        assert_eq!(tag_byte(&items[1]), 0x02);
        assert_eq!(small_uint(&items[0]), None);
        // a truncated second TLV ends the walk after the first
        assert_eq!(tlvs(&[0x02, 0x01, 0x07, 0x02, 0x05, 0x01]).len(), 1);
        assert_eq!(encode_tlv(2, &[0x01, 0x00]), Some(vec![0x02, 0x02, 0x01, 0x00]));
        let long = vec![b'a'; 200];
        let enc = encode_tlv(12, &long).unwrap();
        assert_eq!(&enc[..3], &[0x0c, 0x81, 200]);
    }
}
