//! QuickXorHash, the hash OneDrive reports for every file on every drive type.
//!
//! The algorithm comes from the `quickxorhash` crate (a dependency-free port of Microsoft's
//! reference C#); this module adds Graph's text form and tolerant parsing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Streaming QuickXorHash: feed bytes in any chunking, read the 20-byte digest.
#[derive(Default)]
pub struct QuickXorHash(quickxorhash::QuickXorHash);

impl QuickXorHash {
    pub fn new() -> Self {
        Self(quickxorhash::QuickXorHash::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest as the 20 raw bytes.
    pub fn finalize(mut self) -> [u8; 20] {
        self.0.finalize()
    }

    /// The digest as Graph shows it in `file.hashes.quickXorHash`: base64 with padding.
    pub fn finalize_base64(self) -> String {
        STANDARD.encode(self.finalize())
    }
}

impl std::fmt::Debug for QuickXorHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QuickXorHash")
    }
}

/// One-shot hash of a byte slice, as Graph's base64 text.
pub fn quick_xor_hash(bytes: &[u8]) -> String {
    let mut h = QuickXorHash::new();
    h.update(bytes);
    h.finalize_base64()
}

/// A `quickXorHash` value as received from Graph, parsed to its 20 bytes. Personal OneDrive
/// has returned 40-digit hex instead of base64 (onedrive-api-docs #982), so both are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuickXorHashText(pub [u8; 20]);

/// A `quickXorHash` that is neither 28-character base64 nor 40-digit hex of 20 bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a QuickXorHash (expected 20 bytes as base64 or hex): {0:?}")]
pub struct BadQuickXorHash(pub String);

impl std::str::FromStr for QuickXorHashText {
    type Err = BadQuickXorHash;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bytes = if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..20)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| BadQuickXorHash(s.into()))?
        } else {
            STANDARD.decode(s).map_err(|_| BadQuickXorHash(s.into()))?
        };
        let arr: [u8; 20] = bytes.try_into().map_err(|_| BadQuickXorHash(s.into()))?;
        Ok(QuickXorHashText(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rclone's vectors and the two ASCII ones, from shared/specs/graph.md §4.2.
    const VECTORS: &[(&str, &str)] = &[
        ("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
        ("tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="),
        ("0pZP", "0rDEEwAAAAAAAAAAAwAAAAAAAAA="),
        ("jRRDVA==", "jaDAEKgAAAAAAAAABAAAAAAAAAA="),
        ("2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="),
        (
            "T6LYJIfDh81JrAK309H2JMJTXis=",
            "zBTHrspn3mEcohlJdIUAbjGNaNg=",
        ),
    ];

    #[test]
    fn every_vector_in_the_spec_hashes_as_documented() {
        for (input, expected) in VECTORS {
            let bytes = STANDARD.decode(input).unwrap();
            assert_eq!(quick_xor_hash(&bytes), *expected, "input {input}");
        }
        assert_eq!(
            quick_xor_hash(b"hello world"),
            "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
        );
        assert_eq!(
            quick_xor_hash(b"The quick brown fox jumps over the lazy dog"),
            "bMSlbysmxJL6S75XwfMcQZOpcr4="
        );
    }

    #[test]
    fn chunked_hashing_equals_one_shot_across_the_160_bit_wrap() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for chunk in [1, 3, 19, 20, 21, 160, 333] {
            let mut h = QuickXorHash::new();
            data.chunks(chunk).for_each(|c| h.update(c));
            assert_eq!(h.finalize_base64(), quick_xor_hash(&data), "chunk {chunk}");
        }
    }

    #[test]
    fn hex_and_base64_forms_of_one_hash_compare_equal() {
        let b64: QuickXorHashText = "SgAAAAAAAAAAAAAAAQAAAAAAAAA=".parse().unwrap();
        let hex: QuickXorHashText = "4a00000000000000000000000100000000000000".parse().unwrap();
        assert_eq!(b64, hex);
        assert!("nope".parse::<QuickXorHashText>().is_err());
        assert!(
            "AAAA".parse::<QuickXorHashText>().is_err(),
            "3 bytes is not a digest"
        );
    }
}
