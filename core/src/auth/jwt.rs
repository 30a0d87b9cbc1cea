//! The JSON Web Tokens the flow makes: client assertions (RFC 7523 §2.2, `private_key_jwt`)
//! and DPoP proofs (RFC 9449 §4). Keys never enter the core: a [`Signer`] the caller hands in
//! signs, where the key lives.

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::error::Error;
use super::pkce::base64url;

/// Signs JWS signing inputs (RFC 7515 §5.1) with a private key it holds: the key never leaves
/// it, and the core never sees it. The adapter crate has one over `ring`
/// (`mcpwire::auth::SigningKey`: ES256 and RS256, from PEM or JWK, or a fresh key for DPoP).
///
/// `Debug` of the configurations that hold one shows only its algorithm and key id.
pub trait Signer: Send + Sync {
    /// The JWS `alg` it signs with: `ES256`, `RS256`, ...
    fn algorithm(&self) -> &str;

    /// The `kid` to put in the JWS header, if the authorization server knows the key by one.
    fn key_id(&self) -> Option<&str> {
        None
    }

    /// The public key as a JWK (RFC 7517) with no private members: DPoP proofs carry it
    /// (RFC 9449 §4.2). `None` for a key that only signs client assertions.
    fn public_jwk(&self) -> Option<Map<String, Value>> {
        None
    }

    /// The signature of `input` (`BASE64URL(header) . BASE64URL(claims)`), as JWS wants it:
    /// for ECDSA the fixed-width `r || s` (RFC 7518 §3.4), not DER.
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String>;
}

/// A signer as configurations keep it: shared, and shown by its algorithm only.
#[derive(Clone)]
pub struct Key(pub Arc<dyn Signer>);

impl Key {
    /// A key over `signer`.
    pub fn new(signer: impl Signer + 'static) -> Key {
        Key(Arc::new(signer))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("alg", &self.0.algorithm())
            .field("kid", &self.0.key_id())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Key {}

/// `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`.
pub(crate) fn sign(signer: &dyn Signer, header: &Value, claims: &Value) -> Result<String, Error> {
    let mut token = base64url(header.to_string().as_bytes());
    token.push('.');
    token.push_str(&base64url(claims.to_string().as_bytes()));
    let signature = signer
        .sign(token.as_bytes())
        .map_err(|reason| Error::Signing { reason })?;
    token.push('.');
    token.push_str(&base64url(&signature));
    Ok(token)
}

/// A JWS header for `signer`: `alg`, `typ` when given, `kid` when it has one.
pub(crate) fn header(signer: &dyn Signer, typ: Option<&str>) -> Map<String, Value> {
    let mut h = Map::new();
    if let Some(typ) = typ {
        h.insert("typ".into(), typ.into());
    }
    h.insert("alg".into(), signer.algorithm().into());
    if let Some(kid) = signer.key_id() {
        h.insert("kid".into(), kid.into());
    }
    h
}

/// How long a client assertion is good for: RFC 7523 §3 wants an `exp`; a short one limits
/// what a captured assertion is worth.
pub(crate) const ASSERTION_LIFETIME: u64 = 300;

/// A client assertion (RFC 7523 §2.2, §3): issued by and about the client, for `audience`
/// (the authorization server's issuer, RFC 7523bis), with a unique `jti`.
pub(crate) fn client_assertion(
    key: &Key,
    client_id: &str,
    audience: &str,
    unix: u64,
    jti: &str,
) -> Result<String, Error> {
    let signer = &*key.0;
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": unix,
        "exp": unix + ASSERTION_LIFETIME,
        "jti": jti,
    });
    sign(signer, &Value::Object(header(signer, Some("JWT"))), &claims)
}

/// A DPoP proof (RFC 9449 §4.2) for a request of `method` to `uri` (its query and fragment
/// are dropped, §4.3), with the server's last `nonce`, and for a resource request the hash of
/// the access token it goes with ([`ath`]).
pub(crate) fn dpop_proof(
    key: &Key,
    method: &str,
    uri: &str,
    unix: u64,
    jti: &str,
    nonce: Option<&str>,
    ath: Option<&str>,
) -> Result<String, Error> {
    let signer = &*key.0;
    let mut header = header(signer, Some("dpop+jwt"));
    let Some(jwk) = signer.public_jwk() else {
        return Err(Error::Signing {
            reason: "the DPoP key has no public JWK".into(),
        });
    };
    header.insert("jwk".into(), Value::Object(jwk));
    let htu = uri.split(['?', '#']).next().unwrap_or(uri);
    let mut claims = Map::new();
    claims.insert("jti".into(), jti.into());
    claims.insert("htm".into(), method.into());
    claims.insert("htu".into(), htu.into());
    claims.insert("iat".into(), unix.into());
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if let Some(ath) = ath {
        claims.insert("ath".into(), ath.into());
    }
    sign(signer, &Value::Object(header), &Value::Object(claims))
}

/// `ath`: `BASE64URL(SHA256(access token))` (RFC 9449 §4.2).
pub(crate) fn ath(token: &str) -> String {
    base64url(&Sha256::digest(token.as_bytes()))
}

/// The JWK SHA-256 thumbprint (RFC 7638) of a public key: its required members in
/// lexicographic order, no whitespace. `None` for a key type it does not know.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert(
            (*m).to_owned(),
            Value::String(jwk.get(*m)?.as_str()?.to_owned()),
        );
    }
    // serde_json's Map is ordered by key (no preserve_order feature): the canonical form.
    let text = Value::Object(canonical).to_string();
    Some(base64url(&Sha256::digest(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs with the input itself, reversed: enough to see what was signed.
    struct Mirror;

    impl Signer for Mirror {
        fn algorithm(&self) -> &str {
            "ES256"
        }
        fn key_id(&self) -> Option<&str> {
            Some("k1")
        }
        fn public_jwk(&self) -> Option<Map<String, Value>> {
            json!({"kty": "EC", "crv": "P-256", "x": "X", "y": "Y"})
                .as_object()
                .cloned()
        }
        fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
            Ok(input.iter().rev().copied().collect())
        }
    }

    fn decode(part: &str) -> Value {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_client_assertion_names_the_client_the_audience_and_a_lifetime() {
        let jwt =
            client_assertion(&Key::new(Mirror), "c1", "https://as.example", 1000, "j1").unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode(parts[0]),
            json!({"typ": "JWT", "alg": "ES256", "kid": "k1"})
        );
        assert_eq!(
            decode(parts[1]),
            json!({"iss": "c1", "sub": "c1", "aud": "https://as.example",
                   "iat": 1000, "exp": 1300, "jti": "j1"})
        );
        // What was signed is exactly the first two parts.
        let signed: Vec<u8> = format!("{}.{}", parts[0], parts[1]).into_bytes();
        let reversed: Vec<u8> = signed.iter().rev().copied().collect();
        assert_eq!(parts[2], base64url(&reversed));
    }

    #[test]
    fn a_dpop_proof_carries_the_public_key_and_binds_the_request() {
        let proof = dpop_proof(
            &Key::new(Mirror),
            "POST",
            "https://mcp.example/mcp?x=1#f",
            7,
            "j2",
            Some("n1"),
            Some(&ath("tok")),
        )
        .unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        let header = decode(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["jwk"]["kty"], "EC");
        let claims = decode(parts[1]);
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "https://mcp.example/mcp");
        assert_eq!(claims["iat"], 7);
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["jti"], "j2");
        // RFC 9449 §4.2's `ath` is the SHA-256 of the token, base64url.
        assert_eq!(claims["ath"], base64url(&Sha256::digest(b"tok")));
    }

    #[test]
    fn the_thumbprint_of_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(thumbprint(json!({"kty": "oct"}).as_object().unwrap()), None);
    }

    #[test]
    fn a_signer_that_fails_is_a_typed_error() {
        struct Broken;
        impl Signer for Broken {
            fn algorithm(&self) -> &str {
                "ES256"
            }
            fn sign(&self, _: &[u8]) -> Result<Vec<u8>, String> {
                Err("the HSM is gone".into())
            }
        }
        let e = client_assertion(&Key::new(Broken), "c", "a", 0, "j").unwrap_err();
        assert!(matches!(e, Error::Signing { ref reason } if reason == "the HSM is gone"));
        let e = dpop_proof(&Key::new(Broken), "GET", "https://a/", 0, "j", None, None).unwrap_err();
        assert!(matches!(e, Error::Signing { .. }), "{e:?}");
    }

    #[test]
    fn a_key_shows_its_algorithm_only() {
        let shown = format!("{:?}", Key::new(Mirror));
        assert_eq!(shown, r#"Key { alg: "ES256", kid: Some("k1"), .. }"#);
    }
}
