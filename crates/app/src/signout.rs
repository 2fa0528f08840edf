//! Signing a profile out of Microsoft, and the mailbox a profile is bound to.
//!
//! Sign-out removes what lets the app act for the person at Microsoft — the Graph
//! subscriptions, the refresh token, the webhook secret — and keeps everything the sync
//! knows (links, baselines, journal, cursors, the Odoo key). A later sign-in to the same
//! mailbox picks up where it stopped, without duplicates. A sign-in to another mailbox is
//! refused while the profile has links: they pair Odoo records with items of the first
//! mailbox, and syncing them against another one would duplicate or delete.

use serde::Serialize;

use odoo365_auth::SecretKind;
use odoo365_engine::LinkKind;

use crate::status::SIGN_IN_NEEDED;
use crate::{App, AppError, ErrorCode, Profile};

/// The mailbox (lower-case address) the profile syncs, recorded at sign-in and checked at
/// every connection.
pub(crate) const MAILBOX: &str = "app.mailbox";
/// Set by [`App::sign_out`], cleared by a sign-in: workers stay stopped while it is set.
pub(crate) const SIGNED_OUT: &str = "app.signed_out";

/// What a sign-out did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedOut {
    pub profile: String,
    /// The mailbox the profile stays bound to (a sign-in to it resumes the sync).
    pub mailbox: Option<String>,
    /// Links kept for that sign-in (events and files).
    pub links_kept: usize,
}

impl App {
    /// Signs the profile out of Microsoft: deletes its Graph subscriptions (one Graph
    /// refuses to delete expires by itself within three days), removes its refresh token
    /// and webhook secret from the keychain and marks it "sign-in needed". Its links,
    /// baselines, journal and Odoo key stay. The host stops the profile's worker
    /// ([`App::is_signed_out`] keeps it stopped).
    pub async fn sign_out(&self, profile: &str) -> Result<SignedOut, AppError> {
        let profile = self.profile(profile)?;
        // First, while the refresh token can still authorize the deletes.
        if let Err(e) = self.delete_webhook_subscriptions(&profile.id).await {
            tracing::warn!(error = %e, profile = %profile.name, "webhook subscriptions not deleted");
        }
        for kind in [
            SecretKind::MicrosoftRefreshToken,
            SecretKind::WebhookClientState,
        ] {
            self.keychain.delete(&profile.id, kind).map_err(|e| {
                AppError::new(
                    ErrorCode::Keychain,
                    format!(
                        "{e}; profile {:?} is not fully signed out: try `odoo365 signout` again \
                         once the keychain is available",
                        profile.name
                    ),
                )
            })?;
        }
        self.set_marker(&profile.id, SIGN_IN_NEEDED, Some("signed out"))?;
        self.set_marker(&profile.id, SIGNED_OUT, Some("yes"))?;
        let (mailbox, links_kept) = self.store().tx(|t| {
            Ok((
                t.cursor(&profile.id, MAILBOX)?,
                t.links(&profile.id, LinkKind::Event)?.len()
                    + t.links(&profile.id, LinkKind::File)?.len(),
            ))
        })?;
        tracing::info!(profile = %profile.name, links_kept, "signed out of Microsoft");
        Ok(SignedOut {
            profile: profile.name,
            mailbox,
            links_kept,
        })
    }

    /// Whether the person signed the profile out (and has not signed in since): its worker
    /// must not run.
    pub fn is_signed_out(&self, profile: &str) -> Result<bool, AppError> {
        let profile = self.profile(profile)?;
        let marker = self.store().tx(|t| t.cursor(&profile.id, SIGNED_OUT))?;
        Ok(marker.is_some())
    }

    /// Binds the profile to `mailbox`, or refuses when it is bound to another one and has
    /// links (they pair Odoo records with that other mailbox's items). A profile with no
    /// links takes the new mailbox.
    pub(crate) fn bind_mailbox(&self, profile: &Profile, mailbox: &str) -> Result<(), AppError> {
        let mailbox = mailbox.to_lowercase();
        let id = profile.id.as_str();
        let (bound, links) = self.store().tx(|t| {
            Ok((
                t.cursor(id, MAILBOX)?,
                t.links(id, LinkKind::Event)?.len() + t.links(id, LinkKind::File)?.len(),
            ))
        })?;
        match bound {
            Some(b) if b != mailbox && links > 0 => Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "profile {:?} syncs the mailbox {b} ({links} linked items), but this \
                     sign-in is {mailbox}; nothing was saved. Sign in as {b} to resume, or add \
                     another profile for {mailbox}. To move this profile to {mailbox}, first \
                     run `odoo365 reset-sync-state` (its links are forgotten, nothing is deleted)",
                    profile.name
                ),
            )),
            Some(b) if b == mailbox => Ok(()),
            _ => self.set_marker(id, MAILBOX, Some(&mailbox)),
        }
    }
}
