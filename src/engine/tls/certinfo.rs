//! CERTINFO: the peer chain rendered the way libcurl's OpenSSL backend does.

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

use crate::engine::date::civil_time;

use super::asn1::{first_sequence, first_tlv, oid_text, sequence_items, small_uint, tag_byte};

// ---------------------------------------------------------------------------------------
// CERTINFO
// ---------------------------------------------------------------------------------------

/// OpenSSL's names for object identifiers that show up in certificates.
pub(super) fn oid_name(oid: &str) -> String {
    let n = match oid {
        // signature and key algorithms (OpenSSL long names)
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "1.2.840.10040.4.1" => "dsaEncryption",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "1.2.840.113549.1.3.1" => "dhKeyAgreement",
        "1.2.840.113549.1.5.13" => "PBES2",
        "1.2.840.113549.1.5.12" => "PBKDF2",
        "1.3.6.1.4.1.11591.4.11" => "id-scrypt",
        "1.2.840.113549.1.12.1.3" => "pbeWithSHA1And3-KeyTripleDES-CBC",
        "1.2.840.113549.3.7" => "des-ede3-cbc",
        // extended key usages
        "1.3.6.1.5.5.7.3.1" => "TLS Web Server Authentication",
        "1.3.6.1.5.5.7.3.2" => "TLS Web Client Authentication",
        "1.3.6.1.5.5.7.3.3" => "Code Signing",
        "1.3.6.1.5.5.7.3.4" => "E-mail Protection",
        "1.3.6.1.5.5.7.3.5" => "IPSec End System",
        "1.3.6.1.5.5.7.3.6" => "IPSec Tunnel",
        "1.3.6.1.5.5.7.3.7" => "IPSec User",
        "1.3.6.1.5.5.7.3.8" => "Time Stamping",
        "1.3.6.1.5.5.7.3.9" => "OCSP Signing",
        "2.5.29.37.0" => "Any Extended Key Usage",
        "1.3.6.1.4.1.311.10.3.3" => "Microsoft Server Gated Crypto",
        "2.16.840.1.113730.4.1" => "Netscape Server Gated Crypto",
        // access methods, policies
        "1.3.6.1.5.5.7.48.1" => "OCSP",
        "1.3.6.1.5.5.7.48.2" => "CA Issuers",
        "1.3.6.1.5.5.7.48.3" => "Time Stamping",
        "1.3.6.1.5.5.7.48.5" => "CA Repository",
        "2.5.29.32.0" => "X509v3 Any Policy",
        // extensions
        "2.5.29.14" => "X509v3 Subject Key Identifier",
        "2.5.29.15" => "X509v3 Key Usage",
        "2.5.29.16" => "X509v3 Private Key Usage Period",
        "2.5.29.17" => "X509v3 Subject Alternative Name",
        "2.5.29.18" => "X509v3 Issuer Alternative Name",
        "2.5.29.19" => "X509v3 Basic Constraints",
        "2.5.29.30" => "X509v3 Name Constraints",
        "2.5.29.31" => "X509v3 CRL Distribution Points",
        "2.5.29.32" => "X509v3 Certificate Policies",
        "2.5.29.33" => "X509v3 Policy Mappings",
        "2.5.29.35" => "X509v3 Authority Key Identifier",
        "2.5.29.36" => "X509v3 Policy Constraints",
        "2.5.29.37" => "X509v3 Extended Key Usage",
        "2.5.29.46" => "X509v3 Freshest CRL",
        "2.5.29.54" => "X509v3 Inhibit Any Policy",
        "1.3.6.1.5.5.7.1.1" => "Authority Information Access",
        "1.3.6.1.5.5.7.1.11" => "Subject Information Access",
        "1.3.6.1.5.5.7.1.24" => "TLS Feature",
        "1.3.6.1.4.1.11129.2.4.2" => "CT Precertificate SCTs",
        "1.3.6.1.4.1.11129.2.4.3" => "CT Precertificate Poison",
        "2.16.840.1.113730.1.1" => "Netscape Cert Type",
        "2.16.840.1.113730.1.13" => "Netscape Comment",
        _ => return oid.to_string(),
    };
    n.to_string()
}

/// OpenSSL's short names for distinguished-name attributes.
fn dn_attr_name(oid: &str) -> String {
    let n = match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.16" => "postalAddress",
        "2.5.4.17" => "postalCode",
        "2.5.4.18" => "postOfficeBox",
        "2.5.4.20" => "telephoneNumber",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.45" => "x500UniqueIdentifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.54" => "dmdName",
        "2.5.4.65" => "pseudonym",
        "2.5.4.72" => "role",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return oid.to_string(),
    };
    n.to_string()
}

/// Decode an ASN.1 character string to text. Err for non-string types.
pub(super) fn decode_asn1_string(tag: u32, data: &[u8]) -> Result<String, ()> {
    match tag {
        12 => Ok(String::from_utf8_lossy(data).into_owned()),
        18 | 19 | 20 | 21 | 22 | 25 | 26 | 27 => Ok(data.iter().map(|&b| b as char).collect()),
        30 => Ok(data
            .chunks(2)
            .map(|c| {
                let v = if c.len() == 2 { u16::from_be_bytes([c[0], c[1]]) } else { 0xfffd };
                char::from_u32(v as u32).unwrap_or('\u{fffd}')
            })
            .collect()),
        28 => Ok(data
            .chunks(4)
            .map(|c| {
                let v = if c.len() == 4 { u32::from_be_bytes([c[0], c[1], c[2], c[3]]) } else { 0xfffd };
                char::from_u32(v).unwrap_or('\u{fffd}')
            })
            .collect()),
        _ => Err(()),
    }
}

/// An attribute value escaped the way OpenSSL's one-line name format does (RFC 2253 rules,
/// quoting instead of escaping for , + < > ; and leading '#'/' ' or trailing ' ').
fn escape_dn_value(tag: u32, data: &[u8]) -> String {
    let text = match decode_asn1_string(tag, data) {
        Ok(t) => t,
        Err(()) => {
            // Not a string type: "#" and the hex of the whole DER encoding.
            let der = super::asn1::encode_tlv(tag, data).unwrap_or_default();
            return format!("#{}", hex_upper(&der, ""));
        }
    };
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut quote = false;
    for (i, &b) in bytes.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == bytes.len();
        match b {
            b',' | b'+' | b'<' | b'>' | b';' => {
                quote = true;
                out.push(b as char);
            }
            b'#' if first => {
                quote = true;
                out.push('#');
            }
            b' ' if first || last => {
                quote = true;
                out.push(' ');
            }
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x00..=0x1f | 0x7f..=0xff => out.push_str(&format!("\\{b:02X}")),
            _ => out.push(b as char),
        }
    }
    if quote {
        format!("\"{out}\"")
    } else {
        out
    }
}

/// X509_NAME_print_ex(..., XN_FLAG_ONELINE): "C = US, O = Example, CN = host".
fn name_oneline(name: &X509Name<'_>) -> String {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    format!(
                        "{} = {}",
                        dn_attr_name(&atv.attr_type().to_id_string()),
                        escape_dn_value(atv.attr_value().tag().0, atv.attr_value().data)
                    )
                })
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// X509_NAME_oneline: "/CN=host/O=Example".
fn name_slashed(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for atv in name.iter_attributes() {
        out.push('/');
        out.push_str(&dn_attr_name(&atv.attr_type().to_id_string()));
        out.push('=');
        let v = atv.attr_value();
        let text =
            decode_asn1_string(v.tag().0, v.data).unwrap_or_else(|_| String::from_utf8_lossy(v.data).into_owned());
        for &b in text.as_bytes() {
            if !(b' '..=b'~').contains(&b) {
                out.push_str(&format!("\\x{b:02X}"));
            } else {
                out.push(b as char);
            }
        }
    }
    out
}

fn hex_upper(data: &[u8], sep: &str) -> String {
    data.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(sep)
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => format!("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]),
        16 => bytes.chunks(2).map(|c| format!("{:X}", u16::from_be_bytes([c[0], c[1]]))).collect::<Vec<_>>().join(":"),
        _ => "<invalid>".to_string(),
    }
}

fn general_name_text(gn: &GeneralName<'_>) -> String {
    match gn {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => format!("IP Address:{}", ip_text(b)),
        GeneralName::DirectoryName(n) => format!("DirName:{}", name_slashed(n)),
        GeneralName::RegisteredID(oid) => {
            format!("Registered ID:{}", oid_name(&oid.to_id_string()))
        }
        GeneralName::OtherName(oid, value) => {
            let oid = oid.to_id_string();
            if oid == "1.3.6.1.4.1.311.20.2.3" {
                // Microsoft UPN: [0] EXPLICIT UTF8String
                if let Some(explicit) = first_tlv(value).filter(|a| tag_byte(a) == 0xa0) {
                    if let Some(s) = first_tlv(explicit.value()) {
                        if let Ok(t) = decode_asn1_string(tag_byte(&s) as u32, s.value()) {
                            return format!("othername: UPN:{t}");
                        }
                    }
                }
            }
            "othername:<unsupported>".to_string()
        }
        GeneralName::X400Address(_) => "X400Name:<unsupported>".to_string(),
        GeneralName::EDIPartyName(_) => "EdiPartyName:<unsupported>".to_string(),
    }
}

/// ASN1_STRING_print: printable bytes kept, others shown as '.'.
fn printable_dump(data: &[u8]) -> String {
    data.iter().map(|&b| if b > b'~' || (b < b' ' && b != b'\n' && b != b'\r') { '.' } else { b as char }).collect()
}

/// BIO_hex_string: "AA:BB:..." with a line break and `indent` spaces every `width` bytes.
fn bio_hex_string(indent: usize, width: usize, data: &[u8]) -> String {
    let mut out = String::new();
    if data.is_empty() {
        return out;
    }
    let mut j = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if i > 0 && j == 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&format!("{:02X}:", data[i]));
        j = (j + 1) % width;
        if j == 0 {
            out.push('\n');
        }
        i += 1;
    }
    if i > 0 && j == 0 {
        out.push_str(&" ".repeat(indent));
    }
    out.push_str(&format!("{:02X}", data[data.len() - 1]));
    out
}

/// ASN1_TIME_print: "Jan  5 03:04:05 2026 GMT".
fn asn1_time_text(ts: i64) -> String {
    let c = civil_time(ts);
    format!("{} {:2} {:02}:{:02}:{:02} {} GMT", c.month_name(), c.day, c.hour, c.minute, c.second, c.year)
}

fn serial_text(raw: &[u8]) -> String {
    if raw.is_empty() {
        return "00".to_string();
    }
    if raw[0] & 0x80 != 0 {
        // negative: print the magnitude of the two's complement value
        let mut mag: Vec<u8> = raw.iter().map(|b| !b).collect();
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        let start = mag.iter().position(|&b| b != 0).unwrap_or(mag.len() - 1);
        return format!("-{}", hex_lower(&mag[start..]));
    }
    let start = if raw.len() > 1 && raw[0] == 0 { 1 } else { 0 };
    hex_lower(&raw[start..])
}

pub(super) fn hex_lower(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn bignum_hex(data: &[u8]) -> String {
    let start = data.iter().position(|&b| b != 0);
    match start {
        None => "0".to_string(),
        Some(s) => {
            let h = hex_upper(&data[s..], "");
            h.strip_prefix('0').map(str::to_string).unwrap_or(h)
        }
    }
}

fn bit_length(data: &[u8]) -> usize {
    match data.iter().position(|&b| b != 0) {
        None => 0,
        Some(s) => (data.len() - s) * 8 - data[s].leading_zeros() as usize,
    }
}

fn extension_value(ext: &x509_parser::extensions::X509Extension<'_>) -> String {
    let oid = ext.oid.to_id_string();
    match ext.parsed_extension() {
        ParsedExtension::SubjectAlternativeName(san) => {
            san.general_names.iter().map(general_name_text).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::IssuerAlternativeName(ian) => {
            ian.general_names.iter().map(general_name_text).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::BasicConstraints(bc) => {
            let mut s = format!("CA:{}", if bc.ca { "TRUE" } else { "FALSE" });
            if let Some(p) = bc.path_len_constraint {
                s.push_str(&format!(", pathlen:{p}"));
            }
            s
        }
        ParsedExtension::KeyUsage(ku) => {
            let names = [
                (ku.digital_signature(), "Digital Signature"),
                (ku.non_repudiation(), "Non Repudiation"),
                (ku.key_encipherment(), "Key Encipherment"),
                (ku.data_encipherment(), "Data Encipherment"),
                (ku.key_agreement(), "Key Agreement"),
                (ku.key_cert_sign(), "Certificate Sign"),
                (ku.crl_sign(), "CRL Sign"),
                (ku.encipher_only(), "Encipher Only"),
                (ku.decipher_only(), "Decipher Only"),
            ];
            names.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::ExtendedKeyUsage(_) => {
            // Parsed here to keep the certificate's order.
            let items = first_sequence(ext.value).unwrap_or_default();
            items.iter().filter_map(oid_text).map(|o| oid_name(&o)).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::SubjectKeyIdentifier(kid) => hex_upper(kid.0, ":"),
        ParsedExtension::AuthorityKeyIdentifier(aki) => {
            let mut lines = Vec::new();
            let qualified = aki.authority_cert_issuer.is_some() || aki.authority_cert_serial.is_some();
            if let Some(kid) = &aki.key_identifier {
                let h = hex_upper(kid.0, ":");
                lines.push(if qualified { format!("keyid:{h}") } else { h });
            }
            if let Some(issuer) = &aki.authority_cert_issuer {
                lines.extend(issuer.iter().map(general_name_text));
            }
            if let Some(serial) = aki.authority_cert_serial {
                lines.push(format!("serial:{}", hex_upper(serial, ":")));
            }
            lines.join("\n")
        }
        ParsedExtension::CRLDistributionPoints(dps) => {
            let mut parts = Vec::new();
            for dp in dps.points.iter() {
                let mut s = String::new();
                match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => {
                        s.push_str("Full Name:\n");
                        for n in names {
                            s.push_str(&format!("  {}\n", general_name_text(n)));
                        }
                    }
                    Some(DistributionPointName::NameRelativeToCRLIssuer(rdn)) => {
                        let text = rdn
                            .iter()
                            .map(|atv| {
                                format!(
                                    "{} = {}",
                                    dn_attr_name(&atv.attr_type().to_id_string()),
                                    escape_dn_value(atv.attr_value().tag().0, atv.attr_value().data)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" + ");
                        s.push_str(&format!("Relative Name:\n  {text}\n"));
                    }
                    None => {}
                }
                if let Some(issuers) = &dp.crl_issuer {
                    s.push_str("CRL Issuer:\n");
                    for n in issuers {
                        s.push_str(&format!("  {}\n", general_name_text(n)));
                    }
                }
                parts.push(s);
            }
            parts.join("\n")
        }
        ParsedExtension::AuthorityInfoAccess(aia) => aia
            .accessdescs
            .iter()
            .map(|ad| {
                format!("{} - {}", oid_name(&ad.access_method.to_id_string()), general_name_text(&ad.access_location))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        ParsedExtension::CertificatePolicies(policies) => {
            let mut parts = Vec::new();
            for p in policies.iter() {
                let mut s = format!("Policy: {}", oid_name(&p.policy_id.to_id_string()));
                if let Some(quals) = &p.policy_qualifiers {
                    let mut qs = Vec::new();
                    for q in quals {
                        qs.push(policy_qualifier_text(&q.policy_qualifier_id.to_id_string(), q.qualifier));
                    }
                    s.push('\n');
                    s.push_str(&qs.join("\n"));
                }
                parts.push(s);
            }
            parts.join("\n")
        }
        ParsedExtension::NameConstraints(nc) => {
            let mut s = String::new();
            let mut section = |title: &str, trees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
                if let Some(trees) = trees {
                    if trees.is_empty() {
                        return;
                    }
                    if !s.is_empty() {
                        s.push('\n');
                    }
                    s.push_str(title);
                    s.push_str(":\n");
                    let items: Vec<String> = trees
                        .iter()
                        .map(|t| match &t.base {
                            GeneralName::IPAddress(b) if b.len() == 8 || b.len() == 32 => {
                                let half = b.len() / 2;
                                format!("  IP:{}/{}", ip_text(&b[..half]), ip_text(&b[half..]))
                            }
                            other => format!("  {}", general_name_text(other)),
                        })
                        .collect();
                    s.push_str(&items.join("\n"));
                }
            };
            section("Permitted", &nc.permitted_subtrees);
            section("Excluded", &nc.excluded_subtrees);
            s
        }
        ParsedExtension::PolicyConstraints(pc) => {
            let mut v = Vec::new();
            if let Some(r) = pc.require_explicit_policy {
                v.push(format!("Require Explicit Policy:{r}"));
            }
            if let Some(i) = pc.inhibit_policy_mapping {
                v.push(format!("Inhibit Policy Mapping:{i}"));
            }
            v.join(", ")
        }
        ParsedExtension::InhibitAnyPolicy(iap) => iap.skip_certs.to_string(),
        ParsedExtension::PolicyMappings(pm) => pm
            .mappings
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    oid_name(&m.issuer_domain_policy.to_id_string()),
                    oid_name(&m.subject_domain_policy.to_id_string())
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::NsCertComment(c) => c.to_string(),
        ParsedExtension::SCT(scts) => scts
            .iter()
            .map(|sct| {
                let mut s = String::from("Signed Certificate Timestamp:");
                s.push_str("\n    Version   : ");
                if sct.version.0 != 0 {
                    s.push_str("unknown");
                    return s;
                }
                s.push_str("v1 (0x0)");
                s.push_str("\n    Log ID    : ");
                s.push_str(&bio_hex_string(16, 16, sct.id.key_id));
                s.push_str("\n    Timestamp : ");
                let ms = sct.timestamp;
                let c = civil_time((ms / 1000) as i64);
                s.push_str(&format!(
                    "{} {:2} {:02}:{:02}:{:02}.{:03} {} GMT",
                    c.month_name(),
                    c.day,
                    c.hour,
                    c.minute,
                    c.second,
                    ms % 1000,
                    c.year
                ));
                s.push_str("\n    Extensions: ");
                if sct.extensions.0.is_empty() {
                    s.push_str("none");
                } else {
                    s.push_str(&bio_hex_string(16, 16, sct.extensions.0));
                }
                s.push_str("\n    Signature : ");
                let alg = match (sct.signature.hash_alg_id, sct.signature.sign_alg_id) {
                    (4, 3) => "ecdsa-with-SHA256".to_string(),
                    (4, 1) => "sha256WithRSAEncryption".to_string(),
                    (h, g) => format!("{h:02X}{g:02X}"),
                };
                s.push_str(&alg);
                s.push_str("\n                ");
                s.push_str(&bio_hex_string(16, 16, sct.signature.data));
                s
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => {
            if oid == "1.3.6.1.5.5.7.1.24" {
                // TLS Feature: SEQUENCE OF INTEGER
                if let Some(items) = first_sequence(ext.value) {
                    let mut v = Vec::new();
                    for c in items.iter().take_while(|a| tag_byte(a) == 0x02) {
                        v.push(match small_uint(c) {
                            Some(5) => "status_request".to_string(),
                            Some(17) => "status_request_v2".to_string(),
                            Some(n) => n.to_string(),
                            None => "?".to_string(),
                        });
                    }
                    return v.join(", ");
                }
            }
            printable_dump(ext.value)
        }
    }
}

fn policy_qualifier_text(qid: &str, qualifier: &[u8]) -> String {
    match qid {
        "1.3.6.1.5.5.7.2.1" => {
            let text = first_tlv(qualifier)
                .and_then(|a| decode_asn1_string(tag_byte(&a) as u32, a.value()).ok())
                .unwrap_or_default();
            format!("  CPS: {text}")
        }
        "1.3.6.1.5.5.7.2.2" => {
            let mut s = String::from("  User Notice:");
            for item in first_sequence(qualifier).unwrap_or_default() {
                if let Some(reference) = sequence_items(item) {
                    // NoticeReference: organization, noticeNumbers
                    if let Some(org) = reference.first() {
                        let org = decode_asn1_string(tag_byte(org) as u32, org.value()).unwrap_or_default();
                        s.push_str(&format!("\n    Organization: {org}"));
                    }
                    if let Some(nums) = reference.get(1).and_then(|n| sequence_items(*n)) {
                        let v: Vec<String> = nums
                            .iter()
                            .take_while(|a| tag_byte(a) == 0x02)
                            .map(|c| small_uint(c).map(|x| x.to_string()).unwrap_or_else(|| "?".into()))
                            .collect();
                        let label = if v.len() > 1 { "Numbers" } else { "Number" };
                        s.push_str(&format!("\n    {label}: {}", v.join(", ")));
                    }
                } else if let Ok(t) = decode_asn1_string(tag_byte(&item) as u32, item.value()) {
                    s.push_str(&format!("\n    Explicit Text: {t}"));
                }
            }
            s
        }
        other => format!("  {}: {}", oid_name(other), printable_dump(qualifier)),
    }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// CERTINFO for a peer chain: per certificate, (name, value) pairs in the order and format
/// of libcurl's OpenSSL backend.
pub fn cert_info(chain: &[CertificateDer<'_>]) -> Vec<Vec<(String, String)>> {
    chain.iter().map(|c| one_cert_info(c.as_ref())).collect()
}

fn one_cert_info(der: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: String| out.push((k.to_string(), v));
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        push("Cert", pem_encode("CERTIFICATE", der));
        return out;
    };
    let tbs = &cert.tbs_certificate;
    push("Subject", name_oneline(&tbs.subject));
    push("Issuer", name_oneline(&tbs.issuer));
    push("Version", tbs.version.0.to_string());
    push("Serial Number", serial_text(tbs.raw_serial()));
    push("Signature Algorithm", oid_name(&cert.signature_algorithm.algorithm.to_id_string()));
    push("Public Key Algorithm", oid_name(&tbs.subject_pki.algorithm.algorithm.to_id_string()));
    for ext in tbs.extensions() {
        push(&oid_name(&ext.oid.to_id_string()), extension_value(ext));
    }
    push("Start date", asn1_time_text(tbs.validity.not_before.timestamp()));
    push("Expire date", asn1_time_text(tbs.validity.not_after.timestamp()));
    if let Ok(PublicKey::RSA(rsa)) = tbs.subject_pki.parsed() {
        push("RSA Public Key", bit_length(rsa.modulus).to_string());
        push("rsa(n)", bignum_hex(rsa.modulus));
        push("rsa(e)", bignum_hex(rsa.exponent));
    }
    let sig: &[u8] = &cert.signature_value.data;
    push("Signature", sig.iter().map(|b| format!("{b:02x}:")).collect());
    push("Cert", pem_encode("CERTIFICATE", der));
    out
}

#[cfg(test)]
mod tests {
    use super::super::pem::parse_pem;
    use super::*;

    /// Certificates made for these tests (Python cryptography), and the CERTINFO that
    /// pycurl 7.49.0 / libcurl 8.23.0 (OpenSSL 3.6) returned for them.
    const RSA_CERT: &str = r#"-----BEGIN CERTIFICATE-----
MIID7jCCA5SgAwIBAgIDAID/MAoGCCqGSM49BAMCMBIxEDAOBgNVBAMMB1Rlc3Qg
Q0EwHhcNMjYwMTA1MDMwNDA1WhcNMjcxMjA2MDMwNDA1WjBzMQswCQYDVQQGEwJV
UzETMBEGA1UECAwKU29tZS1TdGF0ZTETMBEGA1UECgwKQWNtZSwgSW5jLjEQMA4G
A1UECwwHT3BzICJ4IjESMBAGA1UEAwwJbG9jYWxob3N0MRQwEgYJKoZIhvcNAQkB
FgVhQGIuYzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAM4tE7JaNt0i
cHQ/9S9hLY4gykY+N8K2+AXIFH6xa4zOU0+EeI7VZXJnks8Iwl7m1gnYXEMad900
nhDSbPNR74x1pUy6rqsuj3MxdloJlgkpJ9gomJFR9kbI++S1Su6+Hl5rdMkTWT10
QEqBYmkcbiMrBzgNIgX6oLniZrxov++CXY/u7DxPzjCTsNYvE6y/Ef9Jvy5FeKlf
ml3QxOmKV/Kw5Xd9Pd6JMYPhjWbS6qhRuWQGC6pRPn0ivgODdgrSlExiMepYYcJk
KDH65ckXpvo/YJgq4EW//DA/OK3yDEEfs9kaGTmAWkfG9Q0C9QFtp49oxiVrOd3b
9RP5Vi9P0KMCAwEAAaOCAaswggGnMEYGA1UdEQQ/MD2CCWxvY2FsaG9zdIcEfwAA
AYcQAAAAAAAAAAAAAAAAAAAAAYEFeEB5LnqGEWh0dHA6Ly91LmV4YW1wbGUvMAwG
A1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgWgMCcGA1UdJQQgMB4GCCsGAQUFBwMB
BggrBgEFBQcDAgYIKwYBBQUHAwMwHwYDVR0jBBgwFoAU2zOI9MmtXxPkiMXoC31X
BT1TGTUwHQYDVR0OBBYEFLQ+zXJUhY0441LqYCE241fjnG0zMCoGA1UdHwQjMCEw
H6AdoBuGGWh0dHA6Ly9jcmwuZXhhbXBsZS9jYS5jcmwwVgYIKwYBBQUHAQEESjBI
MCAGCCsGAQUFBzABhhRodHRwOi8vb2NzcC5leGFtcGxlLzAkBggrBgEFBQcwAoYY
aHR0cDovL2NhLmV4YW1wbGUvY2EuY3J0MEMGA1UdIAQ8MDowCAYGZ4EMAQIBMC4G
CSsGAQQBho0fATAhMB8GCCsGAQUFBwIBFhNodHRwOi8vY3BzLmV4YW1wbGUvMA0G
BCoDBAUEBQQDYWJjMAoGCCqGSM49BAMCA0gAMEUCIA8Ceye03OuvHQGYWYgIrskC
5LITO2BwI3CqgoMSoiQmAiEA8wHca0Ua3dMU1td0kby+h5j8x/RFdHaZ11IKhltr
K9E=
-----END CERTIFICATE-----
"#;
    const MISC_CERT: &str = r#"-----BEGIN CERTIFICATE-----
MIICODCCAd6gAwIBAgIBATAKBggqhkjOPQQDAjAMMQowCAYDVQQDDAF4MB4XDTIw
MDEwMTAwMDAwMFoXDTMwMDEwMTAwMDAwMFowDDEKMAgGA1UEAwwBeDBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABOBx0ezmZZO9VpEZKU69L01ukKOeomc4iwLdYRJ8
Wp6jYauXNQrlPQVkQu3xuw2nowL9XbMIKbVeOYyR8R1dh2yjggEvMIIBKzBTBgNV
HREETDBKhxAgAQ24AAAAAAAAAAAAAKvNpBwwGjEKMAgGA1UEAwwBZDEMMAoGA1UE
CgwDZSBmiAMqAwSgEwYKKwYBBAGCNxQCA6AFDANhQGIwIwYDVR0jBBwwGoACAQKh
EKQOMAwxCjAIBgNVBAMMAXiCAhI0MBIGA1UdJAEB/wQIMAaAAQCBAQEwDQYDVR02
AQH/BAMCAQIwEQYIKwYBBQUHARgEBTADAgEFMD8GA1UdIAQ4MDYwNAYEVR0gADAs
MCoGCCsGAQUFBwICMB4wDQwDT3JnMAYCAQECAQIMDWV4cGxpY2l0IHRleHQwOAYD
VR0eBDEwL6AMMAqHCAoAAAD/AAAAoR8wDYILYmFkLmV4YW1wbGUwDoIMYmFkMi5l
eGFtcGxlMAoGCCqGSM49BAMCA0gAMEUCIDODtGHOYRl5PR7bfSGkdIJqu4QNYdKa
7A8mhL0vK2IfAiEAuvQ2X4soYOjPguQW/XQApxV2EnqLUaKq/+dkB19NWUU=
-----END CERTIFICATE-----
"#;
    const MISC_EXPECTED: &[(&str, &str)] = &[
        ("Subject", "CN = x"),
        ("Issuer", "CN = x"),
        ("Version", "2"),
        ("Serial Number", "01"),
        ("Signature Algorithm", "ecdsa-with-SHA256"),
        ("Public Key Algorithm", "id-ecPublicKey"),
        ("X509v3 Subject Alternative Name", "IP Address:2001:DB8:0:0:0:0:0:ABCD, DirName:/CN=d/O=e f, Registered ID:1.2.3.4, othername: UPN:a@b"),
        ("X509v3 Authority Key Identifier", "keyid:01:02\nDirName:/CN=x\nserial:12:34"),
        ("X509v3 Policy Constraints", "Require Explicit Policy:0, Inhibit Policy Mapping:1"),
        ("X509v3 Inhibit Any Policy", "2"),
        ("TLS Feature", "status_request"),
        ("X509v3 Certificate Policies", "Policy: X509v3 Any Policy\n  User Notice:\n    Organization: Org\n    Numbers: 1, 2\n    Explicit Text: explicit text"),
        ("X509v3 Name Constraints", "Permitted:\n  IP:10.0.0.0/255.0.0.0\nExcluded:\n  DNS:bad.example\n  DNS:bad2.example"),
        ("Start date", "Jan  1 00:00:00 2020 GMT"),
        ("Expire date", "Jan  1 00:00:00 2030 GMT"),
        ("Signature", "30:45:02:20:33:83:b4:61:ce:61:19:79:3d:1e:db:7d:21:a4:74:82:6a:bb:84:0d:61:d2:9a:ec:0f:26:84:bd:2f:2b:62:1f:02:21:00:ba:f4:36:5f:8b:28:60:e8:cf:82:e4:16:fd:74:00:a7:15:76:12:7a:8b:51:a2:aa:ff:e7:64:07:5f:4d:59:45:"),
    ];
    const RSA_EXPECTED: &[(&str, &str)] = &[
        ("Subject", "C = US, ST = Some-State, O = \"Acme, Inc.\", OU = Ops \\\"x\\\", CN = localhost, emailAddress = a@b.c"),
        ("Issuer", "CN = Test CA"),
        ("Version", "2"),
        ("Serial Number", "80ff"),
        ("Signature Algorithm", "ecdsa-with-SHA256"),
        ("Public Key Algorithm", "rsaEncryption"),
        ("X509v3 Subject Alternative Name", "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:x@y.z, URI:http://u.example/"),
        ("X509v3 Basic Constraints", "CA:FALSE"),
        ("X509v3 Key Usage", "Digital Signature, Key Encipherment"),
        ("X509v3 Extended Key Usage", "TLS Web Server Authentication, TLS Web Client Authentication, Code Signing"),
        ("X509v3 Authority Key Identifier", "DB:33:88:F4:C9:AD:5F:13:E4:88:C5:E8:0B:7D:57:05:3D:53:19:35"),
        ("X509v3 Subject Key Identifier", "B4:3E:CD:72:54:85:8D:38:E3:52:EA:60:21:36:E3:57:E3:9C:6D:33"),
        ("X509v3 CRL Distribution Points", "Full Name:\n  URI:http://crl.example/ca.crl\n"),
        ("Authority Information Access", "OCSP - URI:http://ocsp.example/\nCA Issuers - URI:http://ca.example/ca.crt"),
        ("X509v3 Certificate Policies", "Policy: 2.23.140.1.2.1\nPolicy: 1.3.6.1.4.1.99999.1\n  CPS: http://cps.example/"),
        ("1.2.3.4.5", "..abc"),
        ("Start date", "Jan  5 03:04:05 2026 GMT"),
        ("Expire date", "Dec  6 03:04:05 2027 GMT"),
        ("RSA Public Key", "2048"),
        ("rsa(n)", "CE2D13B25A36DD2270743FF52F612D8E20CA463E37C2B6F805C8147EB16B8CCE534F84788ED565726792CF08C25EE6D609D85C431A77DD349E10D26CF351EF8C75A54CBAAEAB2E8F7331765A0996092927D828989151F646C8FBE4B54AEEBE1E5E6B74C913593D74404A8162691C6E232B07380D2205FAA0B9E266BC68BFEF825D8FEEEC3C4FCE3093B0D62F13ACBF11FF49BF2E4578A95F9A5DD0C4E98A57F2B0E5777D3DDE893183E18D66D2EAA851B964060BAA513E7D22BE0383760AD2944C6231EA5861C2642831FAE5C917A6FA3F60982AE045BFFC303F38ADF20C411FB3D91A1939805A47C6F50D02F5016DA78F68C6256B39DDDBF513F9562F4FD0A3"),
        ("rsa(e)", "10001"),
        ("Signature", "30:45:02:20:0f:02:7b:27:b4:dc:eb:af:1d:01:98:59:88:08:ae:c9:02:e4:b2:13:3b:60:70:23:70:aa:82:83:12:a2:24:26:02:21:00:f3:01:dc:6b:45:1a:dd:d3:14:d6:d7:74:91:bc:be:87:98:fc:c7:f4:45:74:76:99:d7:52:0a:86:5b:6b:2b:d1:"),
    ];

    fn der_of(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from(parse_pem(pem.as_bytes()).remove(0).der)
    }

    fn check_expected(info: &[(String, String)], expected: &[(&str, &str)], pem: &str) {
        let (last, rest) = info.split_last().unwrap();
        assert_eq!(last, &("Cert".to_string(), pem.to_string()));
        let got: Vec<(&str, &str)> = rest.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expected) {
            assert_eq!(g, e);
        }
    }

    #[test]
    fn cert_info_matches_openssl_backend() {
        let info = cert_info(&[der_of(RSA_CERT), der_of(MISC_CERT)]);
        assert_eq!(info.len(), 2);
        check_expected(&info[0], RSA_EXPECTED, RSA_CERT);
        check_expected(&info[1], MISC_EXPECTED, MISC_CERT);
    }

    #[test]
    fn time_and_number_formatting() {
        assert_eq!(asn1_time_text(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(asn1_time_text(1_767_582_245), "Jan  5 03:04:05 2026 GMT");
        assert_eq!(asn1_time_text(951_782_400), "Feb 29 00:00:00 2000 GMT");
        assert_eq!(serial_text(&[0x00, 0x80, 0xff]), "80ff");
        assert_eq!(serial_text(&[0x01]), "01");
        assert_eq!(serial_text(&[0xff]), "-01");
        assert_eq!(bignum_hex(&[0x00, 0x01, 0x00, 0x01]), "10001");
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bio_hex_string(16, 4, &[1, 2, 3, 4, 5]), "01:02:03:04:\n                05");
    }
}
