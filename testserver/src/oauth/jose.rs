//! The JWTs the OAuth mode checks: ES256 client assertions (RFC 7523), workload assertions
//! (the JWT bearer grant), DPoP proofs (RFC 9449). Verified with `ring` (the server's only
//! real cryptography besides SHA-256); test-only, strict, and with typed refusals as strings.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// How far `iat` may be from the server's clock, in seconds.
const SKEW: u64 = 60;

/// Seconds since the UNIX epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn part(text: &str) -> Result<Map<String, Value>, &'static str> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| "a part is not base64url")?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err("a part is not a JSON object"),
    }
}

/// A JWT's JSON object: its header, or its claims.
pub(crate) type Object = Map<String, Value>;

/// The header and claims of a compact ES256 JWS signed by the P-256 key `jwk`.
pub(crate) fn verify(token: &str, jwk: &Value) -> Result<(Object, Object), &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS");
    };
    let header = part(h)?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err("alg is not ES256");
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| "the signature is not base64url")?;
    let point = ec_point(jwk).ok_or("not a P-256 public JWK")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(format!("{h}.{c}").as_bytes(), &signature)
        .map_err(|_| "bad signature")?;
    Ok((header, part(c)?))
}

/// `0x04 || x || y` of an EC P-256 JWK.
fn ec_point(jwk: &Value) -> Option<Vec<u8>> {
    if jwk.get("kty")?.as_str()? != "EC" || jwk.get("crv")?.as_str()? != "P-256" {
        return None;
    }
    let x = URL_SAFE_NO_PAD.decode(jwk.get("x")?.as_str()?).ok()?;
    let y = URL_SAFE_NO_PAD.decode(jwk.get("y")?.as_str()?).ok()?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut point = vec![4];
    point.extend(x);
    point.extend(y);
    Some(point)
}

/// The RFC 7638 thumbprint of an EC JWK.
pub(crate) fn thumbprint(jwk: &Value) -> Option<String> {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk.get("crv")?.as_str()?,
        jwk.get("x")?.as_str()?,
        jwk.get("y")?.as_str()?
    );
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// `BASE64URL(SHA256(token))`, a DPoP proof's `ath`.
pub(crate) fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Checks an assertion's audience and lifetime: `aud` (a string or a list) names `audience`,
/// `exp` is in the future.
pub(crate) fn check_assertion(
    claims: &Map<String, Value>,
    audience: &str,
) -> Result<(), &'static str> {
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err("the assertion's aud is not this authorization server");
    }
    match claims.get("exp").and_then(Value::as_u64) {
        Some(exp) if exp > unix_now() => Ok(()),
        Some(_) => Err("the assertion has expired"),
        None => Err("the assertion has no exp"),
    }
}

/// A valid DPoP proof for a `method` request to `htu`: its key's thumbprint and its `jti`.
/// `ath`: the access token it must be bound to; `nonce`: the one it must carry.
pub(crate) struct Proof {
    pub(crate) jkt: String,
    pub(crate) jti: String,
    pub(crate) nonce: Option<String>,
}

/// Checks a DPoP proof (RFC 9449 §4.3) but for the nonce and `jti` reuse, which depend on
/// the server's state.
pub(crate) fn check_proof(
    proof: &str,
    method: &str,
    htu: &str,
    access_token: Option<&str>,
) -> Result<Proof, &'static str> {
    // The key is in the header: read it before verifying with it.
    let header = part(proof.split('.').next().unwrap_or_default())?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("typ is not dpop+jwt");
    }
    let jwk = Value::Object(
        header
            .get("jwk")
            .and_then(Value::as_object)
            .cloned()
            .ok_or("no jwk")?,
    );
    if jwk.get("d").is_some() {
        return Err("the jwk has a private key");
    }
    let (_, claims) = verify(proof, &jwk)?;
    if claims.get("htm").and_then(Value::as_str) != Some(method) {
        return Err("htm is not the request's method");
    }
    if claims.get("htu").and_then(Value::as_str) != Some(htu) {
        return Err("htu is not the request's URI");
    }
    let iat = claims.get("iat").and_then(Value::as_u64).ok_or("no iat")?;
    if iat.abs_diff(unix_now()) > SKEW {
        return Err("iat is too far from now");
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or("no jti")?;
    if let Some(token) = access_token {
        if claims.get("ath").and_then(Value::as_str) != Some(ath(token).as_str()) {
            return Err("ath is not the access token's");
        }
    }
    Ok(Proof {
        jkt: thumbprint(&jwk).ok_or("not an EC jwk")?,
        jti: jti.to_owned(),
        nonce: claims
            .get("nonce")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
