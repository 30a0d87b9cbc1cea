//! Private keys that sign where they live: client assertions (`private_key_jwt`, RFC 7523) and
//! DPoP proofs (RFC 9449). The core asks a [`Signer`] for signatures and never holds a key.

use std::fmt;

use mcpwire_core::auth::Signer;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde_json::{Map, Value};

/// A private key, held here and used only to sign: ES256 (ECDSA P-256) or RS256 (RSA
/// PKCS#1 v1.5 with SHA-256). Made from a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), a
/// private JWK, or fresh for DPoP. `Debug` shows the algorithm and key id, never the key.
pub struct SigningKey {
    kind: Kind,
    kid: Option<String>,
    rng: SystemRandom,
}

enum Kind {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// Why a key could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError(String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unusable private key: {}", self.0)
    }
}

impl std::error::Error for KeyError {}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_b64url(field: &str, text: &str) -> Result<Vec<u8>, KeyError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| KeyError(format!("the JWK's {field} is not base64url")))
}

impl SigningKey {
    /// A key from a PKCS#8 PEM, to sign with `algorithm` (`ES256` or `RS256`).
    pub fn from_pem(pem: &str, algorithm: &str) -> Result<SigningKey, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            KeyError(
                "not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert a SEC1 or PKCS#1 key \
                 with `openssl pkcs8 -topk8 -nocrypt`"
                    .into(),
            )
        })?;
        Self::from_pkcs8(der.secret_pkcs8_der(), algorithm)
    }

    /// A key from PKCS#8 DER bytes.
    pub fn from_pkcs8(der: &[u8], algorithm: &str) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let kind = match algorithm {
            "ES256" => Kind::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(|e| KeyError(format!("not a P-256 key for ES256 ({e})")))?,
            ),
            "RS256" => Kind::Rs256(
                RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| KeyError(format!("not an RSA key for RS256 ({e})")))?,
            ),
            other => {
                return Err(KeyError(format!(
                    "algorithm {other:?} is not supported (ES256, RS256)"
                )))
            }
        };
        Ok(SigningKey {
            kind,
            kid: None,
            rng,
        })
    }

    /// A key from a private EC P-256 JWK (`kty` `EC`, `crv` `P-256`, `x`, `y`, `d`), for
    /// ES256; its `kid` is kept.
    pub fn from_jwk(jwk: &str) -> Result<SigningKey, KeyError> {
        let jwk: Map<String, Value> = serde_json::from_str(jwk)
            .map_err(|_| KeyError("the JWK is not a JSON object".into()))?;
        let field = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| KeyError(format!("the JWK has no {name}")))
        };
        if field("kty")? != "EC" || field("crv")? != "P-256" {
            return Err(KeyError("only EC P-256 JWKs are supported (ES256)".into()));
        }
        if let Some(alg) = jwk.get("alg").and_then(Value::as_str) {
            if alg != "ES256" {
                return Err(KeyError(format!("the JWK's alg {alg:?} is not ES256")));
            }
        }
        let d = from_b64url("d", field("d")?)?;
        let mut public = vec![4u8];
        public.extend(from_b64url("x", field("x")?)?);
        public.extend(from_b64url("y", field("y")?)?);
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &d,
            &public,
            &rng,
        )
        .map_err(|e| KeyError(format!("the JWK is not a P-256 key pair ({e})")))?;
        Ok(SigningKey {
            kind: Kind::Es256(pair),
            kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
            rng,
        })
    }

    /// A fresh ES256 key from the OS's randomness: a DPoP key lives as long as the client.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng)
            .map_err(|_| KeyError("the OS gave no randomness".into()))?;
        Self::from_pkcs8(doc.as_ref(), "ES256")
    }

    /// With this `kid` in the JWS headers.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = Some(kid.into());
        self
    }
}

impl Signer for SigningKey {
    fn algorithm(&self) -> &str {
        match self.kind {
            Kind::Es256(_) => "ES256",
            Kind::Rs256(_) => "RS256",
        }
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn public_jwk(&self) -> Option<Map<String, Value>> {
        let mut jwk = Map::new();
        match &self.kind {
            Kind::Es256(pair) => {
                // The uncompressed point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let (x, y) = point.get(1..)?.split_at(32);
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("x".into(), b64url(x).into());
                jwk.insert("y".into(), b64url(y).into());
            }
            Kind::Rs256(pair) => {
                let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public_key().into();
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), b64url(&public.n).into());
                jwk.insert("e".into(), b64url(&public.e).into());
            }
        }
        Some(jwk)
    }

    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        match &self.kind {
            Kind::Es256(pair) => pair
                .sign(&self.rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".into()),
            Kind::Rs256(pair) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, input, &mut out)
                    .map_err(|_| "RSA signing failed".to_owned())?;
                Ok(out)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::UnparsedPublicKey;

    fn verify(key: &SigningKey, message: &[u8], sig: &[u8]) -> bool {
        let jwk = key.public_jwk().unwrap();
        let x = from_b64url("x", jwk["x"].as_str().unwrap()).unwrap();
        let y = from_b64url("y", jwk["y"].as_str().unwrap()).unwrap();
        let mut point = vec![4u8];
        point.extend(x);
        point.extend(y);
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(message, sig)
            .is_ok()
    }

    #[test]
    fn a_generated_key_signs_what_its_public_jwk_verifies() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign(b"a.b").unwrap();
        assert_eq!(sig.len(), 64, "JWS ES256 is r || s, not DER");
        assert!(verify(&key, b"a.b", &sig));
        assert!(!verify(&key, b"a.c", &sig));
        assert!(key.public_jwk().unwrap().get("d").is_none());
    }

    #[test]
    fn a_jwk_and_the_same_key_as_pem_are_one_key() {
        let key = SigningKey::generate().unwrap();
        let jwk = key.public_jwk().unwrap();
        // A PKCS#8 document made here, then as PEM.
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(doc.as_ref())
            }
        );
        let from_pem = SigningKey::from_pem(&pem, "ES256").unwrap();
        let sig = from_pem.sign(b"m").unwrap();
        assert!(verify(&from_pem, b"m", &sig));
        assert_eq!(jwk["kty"], "EC");
    }

    #[test]
    fn bad_keys_are_typed_errors_that_show_no_key() {
        let e = SigningKey::from_pem(
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
            "ES256",
        )
        .unwrap_err();
        assert!(e.to_string().contains("PKCS#8"), "{e}");
        let e = SigningKey::from_jwk(r#"{"kty":"RSA"}"#).unwrap_err();
        assert!(
            e.to_string().contains("the JWK has no crv") || e.to_string().contains("EC P-256"),
            "{e}"
        );
        let e = SigningKey::from_jwk(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("not a P-256 key pair"), "{e}");
        let key = SigningKey::generate().unwrap().with_key_id("k9");
        assert_eq!(
            format!("{key:?}"),
            r#"SigningKey { alg: "ES256", kid: Some("k9"), .. }"#
        );
    }
}
