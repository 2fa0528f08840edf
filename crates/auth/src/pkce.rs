//! Proof Key for Code Exchange (RFC 7636) with the S256 method, as the identity platform
//! requires for public desktop clients.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::Secret;

/// A verifier kept by the app and the challenge sent in the authorize request.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair from 32 random bytes (a 43-character verifier, RFC 7636 §4.1).
    pub fn generate(rng: &mut impl RngCore) -> Pkce {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pair for a known verifier: challenge = BASE64URL(SHA256(verifier)).
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }

    /// Always `S256`: the plain method is never offered.
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_challenge_matches_rfc_7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(p.method(), "S256");
    }

    #[test]
    fn generated_verifiers_are_43_unreserved_characters_and_differ() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = Pkce::generate(&mut rng);
        let b = Pkce::generate(&mut rng);
        assert_eq!(a.verifier.expose().len(), 43);
        assert!(a
            .verifier
            .expose()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a.verifier, b.verifier);
    }
}
