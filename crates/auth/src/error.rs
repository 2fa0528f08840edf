//! What can go wrong signing in, typed by what the caller should do next.

use crate::KeychainError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The refresh token is expired or revoked, consent or MFA is needed: only an
    /// interactive sign-in helps. The app shows "sign-in needed"; it never stops silently.
    #[error("sign-in needed: {reason}")]
    SignInNeeded { reason: String },
    /// The person declined in the browser or on the device-code page.
    #[error("sign-in was declined: {0}")]
    Declined(String),
    /// The device code or the browser sign-in ran out of time.
    #[error("sign-in timed out: {0}")]
    TimedOut(String),
    /// The redirect came back with a `state` other than the one sent: not our sign-in.
    #[error("the sign-in answer did not match the request (state mismatch); try again")]
    StateMismatch,
    /// No browser could be opened; the device code flow is the fallback.
    #[error("no browser could be opened ({0}); use device-code sign-in instead")]
    NoBrowser(String),
    /// The server could not be reached or answered garbage; trying again later may help.
    #[error("the sign-in service could not be reached: {0}")]
    Network(String),
    /// The server refused the request for a reason that is not the person's to fix
    /// (a wrong client id, scope or redirect URI in the app registration).
    #[error("the sign-in service refused the request: {error}: {description}")]
    Refused { error: String, description: String },
    #[error("the sign-in settings are not usable: {0}")]
    Config(String),
    #[error(transparent)]
    Keychain(#[from] KeychainError),
}
